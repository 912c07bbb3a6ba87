// Fills a script, guidance or APKT template. The customer placeholders are the SOP's
// own ({Bapak/Ibu}, {Pak/Bu}, {nama}); any other {NAME} comes from vars.
import { PolicyError } from './errors.ts'
import type { Customer, Salutation } from './types.ts'

export const CUSTOMER_PLACEHOLDERS = ['Bapak/Ibu', 'Pak/Bu', 'nama'] as const

const SHORT: Readonly<Record<Salutation, string>> = { Bapak: 'Pak', Ibu: 'Bu' }

const PLACEHOLDER = /\{([^{}]*)\}/g

/** The placeholder names a template uses, and whether a brace is left that opens or closes none. */
export function placeholdersIn (template: string): { names: string[], stray: boolean } {
  const names = [...template.matchAll(PLACEHOLDER)].map(m => m[1] ?? '')
  const stray = /[{}]/.test(template.replace(PLACEHOLDER, ''))
  return { names: [...new Set(names)], stray }
}

/**
 * Runs of white space, line breaks included, become one space: the values end up in
 * one-line script text and APKT fields, where a stray newline would break the record.
 */
export const oneLine = (text: string): string => text.trim().split(/\s+/).join(' ')

export function render (template: string, customer: Customer, vars: Record<string, string> = {}): string {
  return template.replace(PLACEHOLDER, (_match, name: string) => {
    switch (name) {
      case 'Bapak/Ibu': return salutationOf(customer)
      case 'Pak/Bu': return SHORT[salutationOf(customer)]
      case 'nama': return nameOf(customer)
    }
    const value = Object.hasOwn(vars, name) ? vars[name] : undefined
    if (value === undefined) throw new PolicyError('MISSING_FACT', `no value for the placeholder {${name}}`, name)
    return value
  })
}

// Checked here as well as by the HTTP schema: render is public and the values come
// from an agent's form.
function salutationOf (customer: Customer): Salutation {
  const s: unknown = customer?.salutation
  if (s === 'Bapak' || s === 'Ibu') return s
  throw new PolicyError('MISSING_FACT', `customer.salutation must be Bapak or Ibu (got ${JSON.stringify(s) ?? 'nothing'})`, 'customer.salutation')
}

function nameOf (customer: Customer): string {
  const name = typeof customer?.name === 'string' ? oneLine(customer.name) : ''
  if (name === '') throw new PolicyError('MISSING_FACT', 'customer.name is required: the script addresses the customer by name', 'customer.name')
  return name
}
