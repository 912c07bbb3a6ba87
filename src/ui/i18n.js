// Indonesian first (the CSOs' working language), English for visitors and vendors.
// The script read to the customer is never translated: it comes from the policy as
// the SOP wrote it.
const LANG_KEY = 'pln123.lang'

const id = {
  'brand': 'PLN 123',
  'page.agent': 'Panel Agen',
  'page.dashboard': 'Dasbor Supervisor',
  'lang.switch': 'English',
  'signin.title': 'Masuk',
  'signin.agent.label': 'Token agen',
  'signin.supervisor.label': 'Token supervisor',
  'signin.submit': 'Masuk',
  'signin.hint': 'Token hanya disimpan di tab ini dan hilang saat tab ditutup.',
  'signin.checking': 'Memeriksa token…',
  'signin.notAgent': 'Token ini bukan token agen.',
  'signout': 'Keluar',

  'state.offline': 'Offline',
  'state.ready': 'Siap',
  'state.on_call': 'Melayani',
  'state.acw': 'ACW',
  'state.paused': 'Jeda',
  'state.unknown': 'Tidak diketahui',

  'topic.coverage': 'Cakupan Area & Pendaftaran',
  'topic.billing': 'Tagihan',
  'topic.activation': 'Aktivasi',
  'topic.disruption': 'Gangguan',

  'callstate.offered': 'Masuk antrean',
  'callstate.connected': 'Tersambung',
  'callstate.transferring': 'Mentransfer',
  'callstate.transferred': 'Ditransfer',
  'callstate.ended': 'Selesai',

  'apkt.status.pending': 'Menunggu kirim',
  'apkt.status.delivered': 'Terkirim',
  'apkt.status.dead': 'Gagal',
  'apkt.status.planned': 'Dicatat setelah transfer / panggilan selesai',

  'agent.title': 'Agen {id}',
  'agent.status': 'Status agen',
  'acw.title': 'After Call Work',
  'acw.remaining': 'sisa waktu ACW',
  'acw.note': 'Panggilan berikutnya baru masuk setelah ACW berakhir.',
  'acw.ready': 'Siap menerima panggilan berikutnya.',
  'acw.paused': 'Dijeda: {reason}',

  'call.title': 'Panggilan',
  'call.none': 'Belum ada panggilan. Panggilan berikutnya tampil di sini.',
  'call.caller': 'Nomor pemanggil',
  'call.since': 'Sejak',
  'call.duration': 'Durasi',
  'call.id': 'ID panggilan',
  'call.state': 'Status',
  'call.last': 'Panggilan terakhir',

  // Agent panel: shift (login at a phone, logout, pauses, next status) and wrap-up.
  'shift.loggedOut': 'Anda belum masuk antrean: panggilan belum bisa masuk.',
  'shift.interface': 'Telepon yang dipakai hari ini',
  'shift.interface.placeholder': 'mis. PJSIP/2001',
  'shift.login': 'Masuk antrean',
  'shift.phone': 'Telepon',
  'shift.logout': 'Keluar antrean',
  'shift.logoutPending': 'Keluar antrean setelah ACW selesai.',
  'shift.ready': 'Siap',
  'shift.working': 'Memproses…',
  'pause.menu': 'Jeda',
  'pause.max': 'maks. {n} menit',
  'pause.running': 'Jeda: {reason}',
  'pause.over': 'Lewat {max} menit',
  'pause.overLimit': 'Lewat batas',
  'pause.hint.call': 'Jeda yang dipilih sekarang mulai setelah panggilan dan ACW selesai.',
  'next.paused': 'Setelah ACW: jeda {reason}',
  'next.logout': 'Setelah ACW: keluar antrean',
  'wrapup.title': 'Kode wrap-up',
  'wrapup.empty': 'Kode wrap-up dipilih sejak panggilan dijawab sampai ACW berakhir.',
  'wrapup.code': 'Kode',
  'wrapup.pick': '— pilih kode —',
  'wrapup.note': 'Catatan (opsional)',
  'wrapup.submit': 'Simpan kode',
  'wrapup.saving': 'Menyimpan…',
  'wrapup.default': 'Tanpa pilihan, panggilan mendapat kode {label} ({code}) saat ACW berakhir.',
  'wrapup.chosen': 'Tersimpan: {label} ({code}) pukul {time}',
  'wrapup.final.agent': 'Final: {label} ({code})',
  'wrapup.final.topic': 'Final: {label} ({code}), kode dari topik panggilan',
  'wrapup.final.default': 'Final: {label} ({code}), kode bawaan karena tidak ada pilihan',
  'wrapup.badge.open': 'Terbuka',
  'wrapup.badge.final': 'Final',
  'wrapup.closed': 'Kode wrap-up sudah ditutup karena ACW panggilan ini telah berakhir; kode akhirnya tetap seperti di bawah.',

  'inquiry.title': 'Topik ICONNET',
  'inquiry.pick': 'Pilih topik pertanyaan pelanggan.',
  'inquiry.name': 'Nama pelanggan',
  'inquiry.salutation': 'Sapaan',
  'inquiry.customerId': 'ID Pelanggan (opsional)',
  'inquiry.area': 'Wilayah yang ditanyakan',
  'inquiry.area.placeholder': 'mis. Cilincing Jakarta Utara',
  'inquiry.plnMobile': 'Berlangganan ICONNET via PLN Mobile?',
  'inquiry.yes': 'Ya',
  'inquiry.no': 'Tidak',
  'inquiry.unknown': 'Belum tahu',
  'inquiry.submit': 'Tampilkan skrip',

  'script.title': 'Skrip untuk dibacakan',
  'script.empty': 'Pilih topik dan isi data pelanggan untuk menampilkan skrip.',
  'guidance.title': 'Panduan',
  'action.transfer': 'Transfer ke CC ICONNET',
  'action.educate': 'Edukasi, tanpa transfer',

  'consent.title': 'Persetujuan pelanggan',
  'consent.question': 'Pelanggan menjawab “YA / Baik”?',
  'consent.yes': 'YA',
  'consent.no': 'Tidak',
  'consent.accepted': 'Pelanggan setuju ({time})',
  'consent.declined': 'Pelanggan menolak ({time})',
  'consent.notNeeded': 'Tidak diperlukan untuk topik ini.',
  'consent.waiting': 'Belum dicatat.',

  'transfer.title': 'Direct Transfer',
  'transfer.button': 'Direct Transfer {n}',
  'transfer.target': 'Contact Center ICONNET',
  'transfer.working': 'Mentransfer…',
  'transfer.hint.inquiry': 'Tampilkan skrip topik Aktivasi atau Gangguan terlebih dulu.',
  'transfer.hint.educate': 'Topik ini ditangani dengan edukasi; tidak ada transfer.',
  'transfer.hint.consent': 'Tunggu pelanggan menjawab YA, lalu catat persetujuannya.',
  'transfer.hint.declined': 'Pelanggan menolak: jangan transfer.',
  'transfer.hint.notConnected': 'Panggilan tidak lagi tersambung.',
  'transfer.hint.ready': 'Siap: pelanggan akan disambungkan ke Contact Center ICONNET.',
  'transfer.done': 'Pelanggan disambungkan ke CC ICONNET ({n}) pukul {time}.',
  'transfer.failed': 'Transfer gagal: {message}',
  'transfer.pending': 'Transfer pukul {time} sudah sampai ke PBX, hasilnya belum diketahui. Jangan tekan lagi: status panggilan akan diperbarui.',

  'apkt.title': 'Catatan APKT',
  'apkt.jenis': 'Jenis',
  'apkt.tipe': 'Tipe keluhan',
  'apkt.subtipe': 'Sub tipe keluhan',
  'apkt.permasalahan': 'Permasalahan',
  'apkt.record': 'ID catatan',
  'apkt.status': 'Status kirim',
  'apkt.empty': 'Catatan APKT muncul setelah topik dipilih.',

  'error.network': 'Layanan tidak dapat dihubungi ({message}).',
  'error.session': 'Sesi berakhir atau token ditolak. Silakan masuk lagi.',
  'error.dismiss': 'Tutup',

  'dash.agents': 'Agen',
  'dash.liveCalls': 'Panggilan aktif',
  'dash.transfers': 'Transfer hari ini',
  'dash.outbox': 'Antrean APKT',
  'dash.ami': 'AMI',
  'dash.noAgents': 'Belum ada data agen.',
  'dash.noCalls': 'Tidak ada panggilan aktif.',
  'dash.noTransfers': 'Belum ada transfer hari ini.',
  'dash.noRecords': 'Tidak ada catatan.',
  'dash.idle': 'Tidak ada panggilan',

  'stream.live': 'Langsung',
  'stream.connecting': 'Menyambung…',
  'stream.retry': 'Terputus; menyambung ulang dalam {s} dtk',
  'stream.denied': 'Akses ditolak',

  'ami.connected': 'AMI tersambung',
  'ami.connecting': 'AMI menyambung…',
  'ami.disconnected': 'AMI terputus',
  'ami.idle': 'AMI belum mulai',
  'ami.closed': 'AMI ditutup',
  'ami.unknown': 'AMI ?',
  'ami.since': 'sejak {time}',

  'kpi.ready': 'Siap',
  'kpi.onCall': 'Melayani',
  'kpi.acw': 'ACW',
  'kpi.live': 'Panggilan aktif',
  'kpi.transfers': 'Transfer hari ini',
  'kpi.pending': 'APKT menunggu',
  'kpi.dead': 'APKT gagal',
  'kpi.oldest': 'Tertunda tertua',

  'col.time': 'Waktu',
  'col.call': 'Panggilan',
  'col.caller': 'Pemanggil',
  'col.agent': 'Agen',
  'col.state': 'Status',
  'col.topic': 'Topik',
  'col.duration': 'Durasi',
  'col.target': 'Tujuan',
  'col.result': 'Hasil',
  'col.permasalahan': 'Permasalahan',
  'col.attempts': 'Percobaan',
  'col.lastError': 'Galat terakhir',
  'col.action': 'Aksi',

  'transfer.result.completed': 'Berhasil',
  'transfer.result.pending': 'Berlangsung',
  'transfer.result.failed': 'Gagal',

  'col.landing': 'Di ICONNET',
  'landing.waiting': 'Menunggu',
  'landing.answered': 'Dijawab',
  'landing.abandoned': 'Pelanggan menutup',
  'landing.failed': 'Gagal',
  'landing.cause.BUSY': 'sibuk',
  'landing.cause.NOANSWER': 'tidak dijawab',
  'landing.cause.CONGESTION': 'jalur padat',
  'landing.cause.CHANUNAVAIL': 'tidak terjangkau',
  'landing.since': 'Menunggu di ICONNET sejak {time}',
  'landing.waited': 'Menunggu {s} detik di ICONNET',

  'outbox.all': 'Semua',
  'outbox.retry': 'Kirim ulang',
  'outbox.retried': 'Catatan {id} diantrekan ulang.',
  'outbox.oldest': 'Tertunda tertua: {age}',
  'outbox.none': 'Tidak ada yang tertunda',

  'time.zone': 'WIB'
}

const en = {
  'brand': 'PLN 123',
  'page.agent': 'Agent panel',
  'page.dashboard': 'Supervisor dashboard',
  'lang.switch': 'Bahasa Indonesia',
  'signin.title': 'Sign in',
  'signin.agent.label': 'Agent token',
  'signin.supervisor.label': 'Supervisor token',
  'signin.submit': 'Sign in',
  'signin.hint': 'The token is kept in this tab only and is gone when the tab closes.',
  'signin.checking': 'Checking the token…',
  'signin.notAgent': 'This is not an agent token.',
  'signout': 'Sign out',

  'state.offline': 'Offline',
  'state.ready': 'Ready',
  'state.on_call': 'On a call',
  'state.acw': 'ACW',
  'state.paused': 'Paused',
  'state.unknown': 'Unknown',

  'topic.coverage': 'Coverage & registration',
  'topic.billing': 'Billing',
  'topic.activation': 'Activation',
  'topic.disruption': 'Disruption',

  'callstate.offered': 'Queued',
  'callstate.connected': 'Connected',
  'callstate.transferring': 'Transferring',
  'callstate.transferred': 'Transferred',
  'callstate.ended': 'Ended',

  'apkt.status.pending': 'Pending',
  'apkt.status.delivered': 'Delivered',
  'apkt.status.dead': 'Failed',
  'apkt.status.planned': 'Recorded once the transfer / call ends',

  'agent.title': 'Agent {id}',
  'agent.status': 'Agent state',
  'acw.title': 'After-call work',
  'acw.remaining': 'ACW time left',
  'acw.note': 'The next call arrives only after ACW ends.',
  'acw.ready': 'Ready for the next call.',
  'acw.paused': 'Paused: {reason}',

  'call.title': 'Call',
  'call.none': 'No call yet. The next call shows up here.',
  'call.caller': 'Caller ID',
  'call.since': 'Since',
  'call.duration': 'Duration',
  'call.id': 'Call ID',
  'call.state': 'State',
  'call.last': 'Last call',

  // Agent panel: shift (login at a phone, logout, pauses, next status) and wrap-up.
  'shift.loggedOut': 'You are not logged in to the queues: no call can reach you.',
  'shift.interface': 'Phone you use today',
  'shift.interface.placeholder': 'e.g. PJSIP/2001',
  'shift.login': 'Log in to the queues',
  'shift.phone': 'Phone',
  'shift.logout': 'Log out of the queues',
  'shift.logoutPending': 'Logging out of the queues when ACW ends.',
  'shift.ready': 'Ready',
  'shift.working': 'Working…',
  'pause.menu': 'Pause',
  'pause.max': 'max. {n} min',
  'pause.running': 'Paused: {reason}',
  'pause.over': 'Over {max} min',
  'pause.overLimit': 'Over the limit',
  'pause.hint.call': 'A pause chosen now starts once the call and its ACW are over.',
  'next.paused': 'After ACW: pause for {reason}',
  'next.logout': 'After ACW: log out of the queues',
  'wrapup.title': 'Wrap-up code',
  'wrapup.empty': 'The wrap-up code is chosen from the answer until ACW ends.',
  'wrapup.code': 'Code',
  'wrapup.pick': '— pick a code —',
  'wrapup.note': 'Note (optional)',
  'wrapup.submit': 'Save code',
  'wrapup.saving': 'Saving…',
  'wrapup.default': 'Without a choice the call gets {label} ({code}) when ACW ends.',
  'wrapup.chosen': 'Saved: {label} ({code}) at {time}',
  'wrapup.final.agent': 'Final: {label} ({code})',
  'wrapup.final.topic': 'Final: {label} ({code}), the code of the call\'s topic',
  'wrapup.final.default': 'Final: {label} ({code}), the default as none was chosen',
  'wrapup.badge.open': 'Open',
  'wrapup.badge.final': 'Final',
  'wrapup.closed': 'The wrap-up is closed: this call\'s ACW has ended, so its final code stays as below.',

  'inquiry.title': 'ICONNET topic',
  'inquiry.pick': 'Pick the topic of the customer\'s question.',
  'inquiry.name': 'Customer name',
  'inquiry.salutation': 'Salutation',
  'inquiry.customerId': 'Customer ID (optional)',
  'inquiry.area': 'Area asked about',
  'inquiry.area.placeholder': 'e.g. Cilincing Jakarta Utara',
  'inquiry.plnMobile': 'Subscribed to ICONNET via PLN Mobile?',
  'inquiry.yes': 'Yes',
  'inquiry.no': 'No',
  'inquiry.unknown': 'Not known',
  'inquiry.submit': 'Show script',

  'script.title': 'Script to read aloud (Indonesian)',
  'script.empty': 'Pick a topic and fill in the customer to see the script.',
  'guidance.title': 'Guidance (from the SOP)',
  'action.transfer': 'Transfer to CC ICONNET',
  'action.educate': 'Educate, no transfer',

  'consent.title': 'Customer consent',
  'consent.question': 'Did the customer say “YA / Baik”?',
  'consent.yes': 'YA',
  'consent.no': 'Tidak',
  'consent.accepted': 'Customer agreed ({time})',
  'consent.declined': 'Customer declined ({time})',
  'consent.notNeeded': 'Not needed for this topic.',
  'consent.waiting': 'Not recorded yet.',

  'transfer.title': 'Direct Transfer',
  'transfer.button': 'Direct Transfer {n}',
  'transfer.target': 'Contact Center ICONNET',
  'transfer.working': 'Transferring…',
  'transfer.hint.inquiry': 'Show the script for Activation or Disruption first.',
  'transfer.hint.educate': 'This topic is handled by educating the customer; no transfer.',
  'transfer.hint.consent': 'Wait for the customer to say YA, then record the consent.',
  'transfer.hint.declined': 'The customer declined: do not transfer.',
  'transfer.hint.notConnected': 'The call is no longer connected.',
  'transfer.hint.ready': 'Ready: the customer will be connected to Contact Center ICONNET.',
  'transfer.done': 'Customer connected to CC ICONNET ({n}) at {time}.',
  'transfer.failed': 'Transfer failed: {message}',
  'transfer.pending': 'The transfer of {time} reached the PBX and its outcome is not known yet. Do not press again: the call will update by itself.',

  'apkt.title': 'APKT record',
  'apkt.jenis': 'Type',
  'apkt.tipe': 'Complaint type',
  'apkt.subtipe': 'Sub type',
  'apkt.permasalahan': 'Problem (permasalahan)',
  'apkt.record': 'Record ID',
  'apkt.status': 'Delivery',
  'apkt.empty': 'The APKT record shows once a topic is picked.',

  'error.network': 'Cannot reach the service ({message}).',
  'error.session': 'The session ended or the token was refused. Please sign in again.',
  'error.dismiss': 'Dismiss',

  'dash.agents': 'Agents',
  'dash.liveCalls': 'Live calls',
  'dash.transfers': 'Transfers today',
  'dash.outbox': 'APKT outbox',
  'dash.ami': 'AMI',
  'dash.noAgents': 'No agent data yet.',
  'dash.noCalls': 'No live calls.',
  'dash.noTransfers': 'No transfers today yet.',
  'dash.noRecords': 'No records.',
  'dash.idle': 'No call',

  'stream.live': 'Live',
  'stream.connecting': 'Connecting…',
  'stream.retry': 'Disconnected; reconnecting in {s} s',
  'stream.denied': 'Access denied',

  'ami.connected': 'AMI connected',
  'ami.connecting': 'AMI connecting…',
  'ami.disconnected': 'AMI disconnected',
  'ami.idle': 'AMI not started',
  'ami.closed': 'AMI closed',
  'ami.unknown': 'AMI ?',
  'ami.since': 'since {time}',

  'kpi.ready': 'Ready',
  'kpi.onCall': 'On a call',
  'kpi.acw': 'ACW',
  'kpi.live': 'Live calls',
  'kpi.transfers': 'Transfers today',
  'kpi.pending': 'APKT pending',
  'kpi.dead': 'APKT failed',
  'kpi.oldest': 'Oldest pending',

  'col.time': 'Time',
  'col.call': 'Call',
  'col.caller': 'Caller',
  'col.agent': 'Agent',
  'col.state': 'State',
  'col.topic': 'Topic',
  'col.duration': 'Duration',
  'col.target': 'Target',
  'col.result': 'Result',
  'col.permasalahan': 'Problem',
  'col.attempts': 'Attempts',
  'col.lastError': 'Last error',
  'col.action': 'Action',

  'transfer.result.completed': 'Completed',
  'transfer.result.pending': 'In progress',
  'transfer.result.failed': 'Failed',

  'col.landing': 'At ICONNET',
  'landing.waiting': 'Waiting',
  'landing.answered': 'Answered',
  'landing.abandoned': 'Customer hung up',
  'landing.failed': 'Failed',
  'landing.cause.BUSY': 'busy',
  'landing.cause.NOANSWER': 'no answer',
  'landing.cause.CONGESTION': 'congestion',
  'landing.cause.CHANUNAVAIL': 'unreachable',
  'landing.since': 'Waiting at ICONNET since {time}',
  'landing.waited': 'Waited {s} s at ICONNET',

  'outbox.all': 'All',
  'outbox.retry': 'Retry',
  'outbox.retried': 'Record {id} queued again.',
  'outbox.oldest': 'Oldest pending: {age}',
  'outbox.none': 'Nothing pending',

  'time.zone': 'WIB'
}

const dictionaries = { id, en }
const listeners = new Set()

function stored () {
  try { return localStorage.getItem(LANG_KEY) } catch { return null }
}

let current = stored() === 'en' ? 'en' : 'id'

export function lang () { return current }

export function setLang (next) {
  current = next === 'en' ? 'en' : 'id'
  try { localStorage.setItem(LANG_KEY, current) } catch {}
  document.documentElement.lang = current
  applyI18n(document)
  for (const fn of listeners) fn(current)
}

export function onLangChange (fn) { listeners.add(fn) }

/** The text for key in the current language, with {name} placeholders filled. */
export function t (key, vars = {}) {
  const text = dictionaries[current][key] ?? dictionaries.id[key] ?? key
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m))
}

/** Fills every [data-i18n] element's text and [data-i18n-placeholder] placeholder. */
export function applyI18n (root) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n)
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder)
  for (const el of root.querySelectorAll('[data-i18n-title]')) el.title = t(el.dataset.i18nTitle)
  const titleKey = document.body?.dataset.titleKey
  if (titleKey !== undefined) document.title = `${t('brand')} · ${t(titleKey)}`
}

/** Wires a button that flips between Indonesian and English. */
export function langToggle (button) {
  const label = () => { button.textContent = current === 'id' ? 'EN' : 'ID'; button.title = t('lang.switch'); button.setAttribute('aria-label', t('lang.switch')) }
  label()
  button.addEventListener('click', () => { setLang(current === 'id' ? 'en' : 'id') })
  onLangChange(label)
  document.documentElement.lang = current
  applyI18n(document)
}
