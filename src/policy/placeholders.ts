// The placeholders a policy file may use, and where each one's value comes from. The
// customer's are filled by render itself; these are filled by decide.
import { CUSTOMER_PLACEHOLDERS } from './render.ts'
import type { RequiredFact } from './types.ts'

/** Filled from an inquiry fact; a topic using one cannot be decided without that fact. */
export const FACT_PLACEHOLDERS: Readonly<Record<string, RequiredFact>> = { AREA: 'area' }

/** Filled from the topic's own transferTarget, so the guidance never names another entry. */
export const TARGET_PLACEHOLDER = 'TARGET'

export const KNOWN_PLACEHOLDERS: readonly string[] = [...CUSTOMER_PLACEHOLDERS, ...Object.keys(FACT_PLACEHOLDERS), TARGET_PLACEHOLDER]
