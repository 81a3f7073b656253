/** The history grid: one page of the user's generations, with like and download. */
import { type Meta, api } from './api'
import { type Child, fill, h } from './dom'
import type { Labels } from './i18n'
import type { Generation } from './types'

export class History {
  readonly el = h('section', { id: 'history', class: 'panel' })
  private page = 1
  private items: Generation[] = []
  private meta: Meta | undefined

  constructor(
    private t: () => Labels,
    private onError: (err: unknown) => void,
  ) {}

  async load(page = this.page) {
    try {
      const { data, meta } = await api.get<Generation[]>(`/generations?page=${page}&limit=12`)
      this.page = page
      this.items = data
      this.meta = meta
      this.render()
    } catch (err) {
      this.onError(err)
    }
  }

  render() {
    const t = this.t()
    const totalPages = Math.max(1, this.meta?.totalPages ?? 1)
    const cards: Child[] = this.items.map((g) => this.card(g, t))
    fill(
      this.el,
      h('h2', {}, t.history),
      cards.length ? h('div', { class: 'grid' }, ...cards) : h('p', { class: 'muted' }, t.empty),
      h(
        'nav',
        { class: 'pager' },
        h('button', { type: 'button', id: 'prev-page', disabled: this.page <= 1, onclick: () => void this.load(this.page - 1) }, t.previous),
        h('span', {}, t.pageOf(this.page, totalPages)),
        h('button', { type: 'button', id: 'next-page', disabled: this.page >= totalPages, onclick: () => void this.load(this.page + 1) }, t.next),
      ),
    )
  }

  private card(g: Generation, t: Labels) {
    const image = g.thumbnailUrl ? h('img', { src: g.thumbnailUrl, alt: g.prompt, loading: 'lazy' }) : h('div', { class: 'placeholder' }, t.stages[g.status] ?? g.status)
    const like = h(
      'button',
      { type: 'button', class: `like${g.isLiked ? ' on' : ''}`, 'aria-pressed': String(g.isLiked), title: g.isLiked ? t.unlike : t.like },
      g.isLiked ? '♥' : '♡',
    )
    like.addEventListener('click', async () => {
      try {
        const { data } = await api.patch<Generation>(`/generations/${encodeURIComponent(g.id)}`, { isLiked: !g.isLiked })
        Object.assign(g, data)
        this.render()
      } catch (err) {
        this.onError(err)
      }
    })
    const download = h('button', { type: 'button', class: 'download', disabled: g.status !== 'completed' }, t.download)
    download.addEventListener('click', async () => {
      try {
        const { data } = await api.get<{ url: string; filename: string }>(`/generations/${encodeURIComponent(g.id)}/download`)
        h('a', { href: data.url, download: data.filename, rel: 'noopener' }).click()
      } catch (err) {
        this.onError(err)
      }
    })
    return h('figure', { class: 'card', 'data-id': g.id, 'data-status': g.status }, image, h('figcaption', {}, g.prompt), h('div', { class: 'actions' }, like, download))
  }
}
