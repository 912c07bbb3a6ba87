// Decisions of the shipped policy against CONTRACT.md section 1, character for
// character. The expected texts are copied from the contract, not from the policy file.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { createPolicySet, loadPolicies, parsePolicy, render, PolicyError, type Customer, type InquiryFacts } from '../../src/policy/index.ts'

const DIR = fileURLToPath(new URL('../../config/policy/', import.meta.url))
const FILE = fileURLToPath(new URL('../../config/policy/2021-08-17-iconnet-direct-transfer.yaml', import.meta.url))
const policies = loadPolicies(DIR)
const AT = new Date('2026-11-24T03:00:00Z')

const budi: Customer = { name: 'Budi', salutation: 'Bapak' }
const siti: Customer = { name: 'Siti Rahayu', salutation: 'Ibu', customerId: '538712345678' }

function caught (fn: () => unknown): unknown {
  try { fn() } catch (err) { return err }
  return undefined
}

t.test('the policy file carries the contract templates verbatim', async t => {
  const v = parsePolicy(readFileSync(FILE, 'utf8'), FILE)
  t.equal(v.effectiveFrom, '2021-08-17')
  t.equal(v.timezone, 'Asia/Jakarta')
  t.equal(v.topics.coverage?.script, 'Baik {Bapak/Ibu} {nama}, mohon maaf saat ini {Bapak/Ibu} terhubung dengan Contact Center PLN 123 Ketenagalistrikan, untuk Informasi Cakupan Area, Produk, dan Pendaftaran ICONNET, {Bapak/Ibu} dapat melakukan pengecekannya di Aplikasi PLN Mobile')
  t.equal(v.topics.billing?.script, 'Baik {Bapak/Ibu} {nama}, terima kasih telah memilih produk ICONNET, mohon maaf saat ini {Bapak/Ibu} terhubung dengan Contact Center PLN 123 Ketenagalistrikan, untuk Informasi Tagihan ICONNET, jika pengajuan berlangganan ICONNET-nya melalui PLN Mobile {Bapak/Ibu} dapat melihat jumlah tagihannya di PLN Mobile, namun jika pengajuan berlangganan ICONNET-nya tidak melalui PLN Mobile, {Bapak/Ibu} dapat mengajukan permohonan tagihannya melalui Email ke iconnet@iconpln.co.id')
  for (const topic of ['activation', 'disruption'] as const) {
    t.equal(v.topics[topic]?.script, 'Baik {Bapak/Ibu} {nama}, mohon maaf saat ini {Bapak/Ibu} terhubung dengan Contact Center PLN 123 Ketenagalistrikan, untuk informasi ICONNET, {Bapak/Ibu} akan kami sambungkan ke Contact Center ICONNET, mohon ditunggu ya {Pak/Bu}?', topic)
    t.equal(v.topics[topic]?.apkt.permasalahan, 'ICONNET : TRANSFER CALL', topic)
  }
  t.equal(v.topics.coverage?.apkt.permasalahan, 'ICONNET : INFO CAKUPAN AREA DI WILAYAH {AREA}, TELAH DIJELASKAN SESUAI KETENTUAN. PELANGGAN MENGERTI')
  t.equal(v.topics.billing?.apkt.permasalahan, 'ICONNET : INFO TAGIHAN, TELAH DIJELASKAN SESUAI KETENTUAN. PELANGGAN MENGERTI')
  t.same(v.topics.coverage?.requires, ['area'])
  t.same(v.topics.billing?.requires, [])
  t.ok(Object.isFrozen(v.topics.coverage?.apkt), 'a parsed version cannot be changed by a caller')
})

t.test('the contract example: Bapak Budi, activation', async t => {
  const d = policies.decide('activation', { customer: budi }, AT)
  t.equal(d.script, 'Baik Bapak Budi, mohon maaf saat ini Bapak terhubung dengan Contact Center PLN 123 Ketenagalistrikan, untuk informasi ICONNET, Bapak akan kami sambungkan ke Contact Center ICONNET, mohon ditunggu ya Pak?')
})

const APKT_COMMON = { jenis: 'KELUHAN', tipeKeluhan: 'INFORMASI', subTipeKeluhan: 'UMUM' }

t.test('coverage: script, educate, APKT with the area upper-cased', async t => {
  const bapak = policies.decide('coverage', { customer: budi, area: 'Cilincing Jakarta Utara' }, AT)
  t.same(bapak, {
    topic: 'coverage',
    action: 'educate',
    script: 'Baik Bapak Budi, mohon maaf saat ini Bapak terhubung dengan Contact Center PLN 123 Ketenagalistrikan, untuk Informasi Cakupan Area, Produk, dan Pendaftaran ICONNET, Bapak dapat melakukan pengecekannya di Aplikasi PLN Mobile',
    guidance: bapak.guidance,
    apkt: { ...APKT_COMMON, permasalahan: 'ICONNET : INFO CAKUPAN AREA DI WILAYAH CILINCING JAKARTA UTARA, TELAH DIJELASKAN SESUAI KETENTUAN. PELANGGAN MENGERTI' },
    policyVersion: '2021-08-17'
  })
  t.notOk('transferTarget' in bapak, 'an educate topic has no transfer target')

  const ibu = policies.decide('coverage', { customer: siti, area: '  koja,\n Jakarta   Utara ' }, AT)
  t.equal(ibu.script, 'Baik Ibu Siti Rahayu, mohon maaf saat ini Ibu terhubung dengan Contact Center PLN 123 Ketenagalistrikan, untuk Informasi Cakupan Area, Produk, dan Pendaftaran ICONNET, Ibu dapat melakukan pengecekannya di Aplikasi PLN Mobile')
  t.equal(ibu.apkt.permasalahan, 'ICONNET : INFO CAKUPAN AREA DI WILAYAH KOJA, JAKARTA UTARA, TELAH DIJELASKAN SESUAI KETENTUAN. PELANGGAN MENGERTI', 'trimmed, one line, upper-cased')
})

t.test('coverage guidance: PLN Mobile, by ID Pelanggan or by coordinates', async t => {
  const { guidance } = policies.decide('coverage', { customer: budi, area: 'Cilincing' }, AT)
  const all = guidance.join('\n')
  t.match(all, /PLN Mobile/)
  t.match(all, /ID Pelanggan yang sudah terdaftar/)
  t.match(all, /Koordinat yang ditentukan Pelanggan/)
  t.notMatch(all, /Direct Transfer/)
})

t.test('coverage needs the area', async t => {
  for (const area of [undefined, '', '   \n ']) {
    const facts: InquiryFacts = area === undefined ? { customer: budi } : { customer: budi, area }
    const err = caught(() => policies.decide('coverage', facts, AT))
    t.ok(err instanceof PolicyError, `area ${JSON.stringify(area)}`)
    t.match(err, { code: 'MISSING_FACT', field: 'area', message: /area is required for topic coverage/ })
  }
})

t.test('billing: script and APKT, Bapak and Ibu', async t => {
  const bapak = policies.decide('billing', { customer: budi, subscribedViaPlnMobile: true }, AT)
  t.equal(bapak.action, 'educate')
  t.equal(bapak.script, 'Baik Bapak Budi, terima kasih telah memilih produk ICONNET, mohon maaf saat ini Bapak terhubung dengan Contact Center PLN 123 Ketenagalistrikan, untuk Informasi Tagihan ICONNET, jika pengajuan berlangganan ICONNET-nya melalui PLN Mobile Bapak dapat melihat jumlah tagihannya di PLN Mobile, namun jika pengajuan berlangganan ICONNET-nya tidak melalui PLN Mobile, Bapak dapat mengajukan permohonan tagihannya melalui Email ke iconnet@iconpln.co.id')
  t.same(bapak.apkt, { ...APKT_COMMON, permasalahan: 'ICONNET : INFO TAGIHAN, TELAH DIJELASKAN SESUAI KETENTUAN. PELANGGAN MENGERTI' })
  t.equal(bapak.transferTarget, undefined)

  const ibu = policies.decide('billing', { customer: siti, subscribedViaPlnMobile: false }, AT)
  t.equal(ibu.script, 'Baik Ibu Siti Rahayu, terima kasih telah memilih produk ICONNET, mohon maaf saat ini Ibu terhubung dengan Contact Center PLN 123 Ketenagalistrikan, untuk Informasi Tagihan ICONNET, jika pengajuan berlangganan ICONNET-nya melalui PLN Mobile Ibu dapat melihat jumlah tagihannya di PLN Mobile, namun jika pengajuan berlangganan ICONNET-nya tidak melalui PLN Mobile, Ibu dapat mengajukan permohonan tagihannya melalui Email ke iconnet@iconpln.co.id')
  t.equal(ibu.apkt.permasalahan, 'ICONNET : INFO TAGIHAN, TELAH DIJELASKAN SESUAI KETENTUAN. PELANGGAN MENGERTI')
})

t.test('billing guidance follows how the customer subscribed', async t => {
  const via = (subscribedViaPlnMobile?: boolean): string => {
    const facts: InquiryFacts = subscribedViaPlnMobile === undefined ? { customer: siti } : { customer: siti, subscribedViaPlnMobile }
    return policies.decide('billing', facts, AT).guidance.join('\n')
  }
  const mobile = via(true)
  t.match(mobile, /Tagihan ICONNET dapat dilihat di Aplikasi PLN Mobile/)
  t.notMatch(mobile, /iconnet@iconpln\.co\.id/, 'no e-mail path for a PLN Mobile subscriber')
  t.notMatch(mobile, /Tanyakan/)

  const email = via(false)
  t.match(email, /iconnet@iconpln\.co\.id/)
  t.notMatch(email, /dapat dilihat di Aplikasi PLN Mobile/, 'no PLN Mobile path for others')

  const unknown = via(undefined)
  t.match(unknown, /Tanyakan apakah pengajuan berlangganan ICONNET-nya melalui PLN Mobile/)
  t.match(unknown, /dapat dilihat di Aplikasi PLN Mobile/, 'both paths while it is not known')
  t.match(unknown, /iconnet@iconpln\.co\.id/)
  t.not(mobile, email)
})

for (const topic of ['activation', 'disruption'] as const) {
  t.test(`${topic}: transfer to 3, script, APKT`, async t => {
    const bapak = policies.decide(topic, { customer: budi }, AT)
    t.same(bapak, {
      topic,
      action: 'transfer',
      script: 'Baik Bapak Budi, mohon maaf saat ini Bapak terhubung dengan Contact Center PLN 123 Ketenagalistrikan, untuk informasi ICONNET, Bapak akan kami sambungkan ke Contact Center ICONNET, mohon ditunggu ya Pak?',
      guidance: bapak.guidance,
      apkt: { ...APKT_COMMON, permasalahan: 'ICONNET : TRANSFER CALL' },
      transferTarget: 3,
      policyVersion: '2021-08-17',
      wrapupCode: 'TRANSFER_ICONNET'
    })
    const ibu = policies.decide(topic, { customer: siti, area: 'ignored here' }, AT)
    t.equal(ibu.script, 'Baik Ibu Siti Rahayu, mohon maaf saat ini Ibu terhubung dengan Contact Center PLN 123 Ketenagalistrikan, untuk informasi ICONNET, Ibu akan kami sambungkan ke Contact Center ICONNET, mohon ditunggu ya Bu?')
    t.equal(ibu.apkt.permasalahan, 'ICONNET : TRANSFER CALL')
    t.equal(ibu.transferTarget, 3)
  })

  t.test(`${topic} guidance: apologise, wait for YA / Baik, Direct Transfer to 3, then ACW`, async t => {
    const g = policies.decide(topic, { customer: siti }, AT).guidance
    const at = (re: RegExp): number => g.findIndex(line => re.test(line))
    const apologise = at(/permohonan maaf/)
    const consent = at(/persetujuan Pelanggan \(YA \/ Baik\)/)
    const transfer = at(/Direct Transfer ke 3 \(CC ICONNET\)/)
    const acw = at(/lakukan ACW/)
    t.ok(apologise >= 0 && consent >= 0 && transfer >= 0 && acw >= 0, 'every step is there')
    t.ok(apologise < consent && consent < transfer && transfer < acw, 'in the order of the SOP')
    t.match(g[transfer], /klik angka "3"/)
    t.match(g[apologise], topic === 'activation' ? /Aktivasi/ : /Gangguan/)
  })
}

t.test('the name is kept as given in the script and upper-cased only in APKT', async t => {
  const d = policies.decide('activation', { customer: { name: '  budi   santoso ', salutation: 'Bapak' } }, AT)
  t.match(d.script, /^Baik Bapak budi santoso, /)
  for (const [k, v] of Object.entries(d.apkt)) t.equal(v, v.toUpperCase(), `apkt.${k} is upper-case`)
})

t.test('a customer placeholder in APKT is upper-cased there; {AREA} is upper-case everywhere', async t => {
  const text = readFileSync(FILE, 'utf8')
    .replace('"ICONNET : TRANSFER CALL"', '"ICONNET : TRANSFER CALL A.N. {nama}"')
    .replace('      - Tunggu persetujuan Pelanggan (YA / Baik) sebelum melakukan transfer.', '      - Tunggu persetujuan Pelanggan (YA / Baik) sebelum melakukan transfer.\n      - "Catat wilayah: {AREA}"')
  const set = createPolicySet([parsePolicy(text, 'variant.yaml')])
  const d = set.decide('activation', { customer: { name: 'budi santoso', salutation: 'Bapak' }, area: 'koja' }, AT)
  t.equal(d.apkt.permasalahan, 'ICONNET : TRANSFER CALL A.N. BUDI SANTOSO')
  t.match(d.script, /^Baik Bapak budi santoso, /)
  t.ok(d.guidance.includes('Catat wilayah: KOJA'))
  t.match(caught(() => set.decide('activation', { customer: budi }, AT)), { code: 'MISSING_FACT', field: 'area' }, 'a topic using {AREA} needs the area')
})

t.test('unknown topic and missing customer facts are coded errors', async t => {
  t.match(caught(() => policies.decide('refund', { customer: budi }, AT)), { code: 'UNKNOWN_TOPIC', message: /"refund".*coverage, billing, activation, disruption/ })
  t.match(caught(() => policies.decide('toString', { customer: budi }, AT)), { code: 'UNKNOWN_TOPIC' })
  t.match(caught(() => policies.decide('activation', { customer: { name: ' ', salutation: 'Ibu' } }, AT)), { code: 'MISSING_FACT', field: 'customer.name' })
  t.match(caught(() => policies.decide('activation', { customer: { name: 'Ani', salutation: 'Nyonya' as 'Ibu' } }, AT)), { code: 'MISSING_FACT', field: 'customer.salutation' })
  t.match(caught(() => policies.decide('billing', {} as InquiryFacts, AT)), { code: 'MISSING_FACT', field: 'customer' })
})

t.test('topics in force', async t => {
  t.same(policies.topics(AT), ['coverage', 'billing', 'activation', 'disruption'])
  t.same(policies.topics(new Date('2021-08-01T00:00:00Z')), [], 'none before the policy starts')
})

t.test('render', async t => {
  t.equal(render('{Bapak/Ibu} {nama}, ya {Pak/Bu}?', siti), 'Ibu Siti Rahayu, ya Bu?')
  t.equal(render('{Bapak/Ibu} {nama}, ya {Pak/Bu}?', budi), 'Bapak Budi, ya Pak?')
  t.equal(render('DI WILAYAH {AREA}.', budi, { AREA: 'KOJA' }), 'DI WILAYAH KOJA.')
  t.equal(render('no placeholders', budi), 'no placeholders')
  t.match(caught(() => render('DI {AREA}', budi)), { code: 'MISSING_FACT', field: 'AREA' })
  t.match(caught(() => render('{hasOwnProperty}', budi)), { code: 'MISSING_FACT', field: 'hasOwnProperty' })
})
