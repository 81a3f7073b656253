/** The playground's entry: sign-in, the studio and the history, in English or Arabic. */
import { ApiError, api, setApiLanguage } from './api'
import { fill, h } from './dom'
import { type Labels, type Lang, applyLang, savedLang } from './i18n'
import { History } from './history'
import { Studio } from './studio'
import type { User } from './types'

const TIERS = ['free', 'pro', 'enterprise'] as const

let lang: Lang = savedLang()
let labels: Labels = applyLang(lang)
setApiLanguage(lang)
let user: User | undefined

const root = document.getElementById('app') ?? document.body
const header = h('header', {})
const errorBox = h('div', { id: 'error', role: 'alert', hidden: true })
const main = h('main', {})
const t = () => labels

function showError(err: unknown) {
  const message = err instanceof ApiError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err)
  fill(errorBox, h('span', {}, message), h('button', { type: 'button', class: 'close', onclick: () => (errorBox.hidden = true) }, '×'))
  errorBox.hidden = false
}

const history = new History(t, showError)
const studio = new Studio(t, showError, () => void history.load(1))

function renderHeader() {
  document.title = labels.title
  fill(
    header,
    h('h1', {}, labels.title),
    user ? h('span', { id: 'user' }, `${user.name ?? user.email} · ${user.tier}`) : null,
    user ? h('button', { type: 'button', id: 'signout', onclick: () => void signOut() }, labels.signOut) : null,
    h('button', { type: 'button', id: 'lang', onclick: () => void switchLang() }, labels.language),
  )
}

function renderSignIn() {
  const email = h('input', { id: 'email', type: 'email', required: true, autocomplete: 'email', placeholder: 'you@example.com' })
  const tier = h('select', { id: 'tier' }, ...TIERS.map((x) => h('option', { value: x }, x)))
  const form = h(
    'form',
    { id: 'signin', class: 'panel' },
    h('h2', {}, labels.signInTitle),
    h('label', {}, labels.email, email),
    h('label', {}, labels.tier, tier),
    h('button', { type: 'submit', class: 'primary' }, labels.devSignIn),
    h('a', { href: '/api/v1/auth/google', class: 'google' }, labels.google),
  )
  form.addEventListener('submit', async (e) => {
    e.preventDefault()
    try {
      const { data } = await api.post<{ user: User }>('/auth/dev', { email: email.value, tier: tier.value })
      user = data.user
      await enter()
    } catch (err) {
      showError(err)
    }
  })
  fill(main, form)
}

async function enter() {
  errorBox.hidden = true
  renderHeader()
  fill(main, studio.el, history.el)
  studio.connect()
  await Promise.all([studio.load(), history.load(1)])
}

async function signOut() {
  try {
    await api.post('/auth/logout')
  } catch (err) {
    showError(err)
  }
  studio.disconnect()
  user = undefined
  renderHeader()
  renderSignIn()
}

async function switchLang() {
  lang = lang === 'en' ? 'ar' : 'en'
  labels = applyLang(lang)
  setApiLanguage(lang)
  renderHeader()
  if (!user) return renderSignIn()
  history.render()
  await studio.load()
}

async function start() {
  root.replaceChildren(header, errorBox, main)
  renderHeader()
  try {
    user = (await api.get<User>('/auth/user')).data
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) showError(err)
  }
  if (user) await enter()
  else renderSignIn()
}

void start()
