/**
 * The generation form and the live stage: style and palette pickers, aspect
 * ratio, size, prompt; `generate` goes over the socket and the stage, progress
 * bar and finished image follow the `generation.*` events.
 */
import { KilnSocket } from '../client/kiln-socket'
import { api } from './api'
import { fill, h } from './dom'
import type { Labels } from './i18n'
import type { Generation, Palette, Style } from './types'

const ASPECTS = ['1:1', '4:3', '3:4', '16:9', '9:16'] as const
const SIZES = ['1K', '2K', '4K'] as const

export class Studio {
  readonly el = h('section', { id: 'studio', class: 'panel' })
  private readonly live = h('section', { id: 'live', class: 'panel', hidden: true })
  private styles: Style[] = []
  private palettes: Palette[] = []
  private choice = { style: '', palette: '', aspectRatio: '1:1', size: '1K', prompt: '' }
  private current: string | undefined
  private socket: KilnSocket | undefined

  constructor(
    private t: () => Labels,
    private onError: (err: unknown) => void,
    private onFinished: () => void,
  ) {}

  /** Loads the catalogue in the current language and redraws. */
  async load() {
    try {
      const [styles, palettes] = await Promise.all([api.get<Style[]>('/styles'), api.get<Palette[]>('/palettes')])
      this.styles = styles.data
      this.palettes = palettes.data
      if (!this.styles.some((s) => s.id === this.choice.style)) this.choice.style = this.styles[0]?.id ?? ''
    } catch (err) {
      this.onError(err)
    }
    this.render()
  }

  connect() {
    this.socket?.close()
    const socket = new KilnSocket({ url: location.origin })
    this.socket = socket
    socket.on('generation.progress', (d) => this.progress(d.id, d.stage ?? d.status, d.progress))
    socket.on('generation.started', (d) => this.progress(d.id, 'analyzing', 0))
    socket.on('generation.completed', (d) => this.completed(d as unknown as Generation))
    socket.on('generation.failed', (d) => {
      if (d.id !== this.current) return
      this.progress(d.id, 'failed', 100)
      this.onError(new Error(`${d.error.code}: ${d.error.message}`))
      this.onFinished()
    })
    socket.on('generation.cancelled', (d) => d.id === this.current && this.progress(d.id, 'cancelled', 100))
    socket.on('error', (d) => !d.requestId && this.onError(new Error(`${d.code}: ${d.message}`)))
    socket.connect().catch(this.onError)
  }

  disconnect() {
    this.socket?.close()
    this.socket = undefined
  }

  render() {
    const t = this.t()
    const c = this.choice
    const styleButtons = this.styles.map((s) =>
      h(
        'button',
        { type: 'button', class: 'style-option', 'data-id': s.id, 'aria-pressed': String(s.id === c.style), title: s.description, onclick: () => this.pick({ style: s.id }) },
        s.previewImage ? h('img', { src: s.previewImage, alt: '', loading: 'lazy' }) : null,
        h('span', {}, s.title),
      ),
    )
    const paletteButtons = [
      h('button', { type: 'button', class: 'palette-option', 'data-id': '', 'aria-pressed': String(c.palette === ''), onclick: () => this.pick({ palette: '' }) }, t.noPalette),
      ...this.palettes.map((p) =>
        h(
          'button',
          { type: 'button', class: 'palette-option', 'data-id': p.id, 'aria-pressed': String(p.id === c.palette), title: p.name, onclick: () => this.pick({ palette: p.id }) },
          h('span', { class: 'swatches' }, ...p.colors.map((col) => swatch(col))),
          h('span', {}, p.name),
        ),
      ),
    ]
    const select = (id: string, values: readonly string[], value: string, key: 'aspectRatio' | 'size') =>
      h('select', { id, onchange: (e) => (c[key] = (e.target as HTMLSelectElement).value) }, ...values.map((v) => h('option', { value: v, selected: v === value }, v)))
    const prompt = h('textarea', { id: 'prompt', rows: 3, maxlength: 2000, placeholder: t.promptPlaceholder, oninput: (e) => (c.prompt = (e.target as HTMLTextAreaElement).value) })
    prompt.value = c.prompt
    fill(
      this.el,
      h('h2', {}, t.style),
      h('div', { class: 'styles' }, ...styleButtons),
      h('h2', {}, t.palette),
      h('div', { class: 'palettes' }, ...paletteButtons),
      h('div', { class: 'row' }, h('label', {}, t.aspect, select('aspect', ASPECTS, c.aspectRatio, 'aspectRatio')), h('label', {}, t.size, select('size', SIZES, c.size, 'size'))),
      h('label', { class: 'block' }, t.prompt, prompt),
      h('button', { type: 'button', id: 'generate', class: 'primary', onclick: () => void this.generate() }, t.generate),
      this.live,
    )
  }

  private pick(change: Partial<typeof this.choice>) {
    Object.assign(this.choice, change)
    this.render()
  }

  private async generate() {
    const c = this.choice
    const prompt = c.prompt.trim() || this.styles.find((s) => s.id === c.style)?.defaultPrompt || 'an image'
    const input = { prompt, style: c.style, aspectRatio: c.aspectRatio as '1:1', size: c.size as '1K', ...(c.palette ? { palette: c.palette } : {}) }
    try {
      if (!this.socket) throw new Error('not connected')
      const ack = await this.socket.generate(input)
      this.current = ack.id
      this.progress(ack.id, 'queued', 0)
      this.onFinished()
    } catch (err) {
      this.onError(err)
    }
  }

  private progress(id: string, stage: string, pct: number) {
    if (id !== this.current) return
    const t = this.t()
    this.live.hidden = false
    const bar = h('progress', { id: 'progress', max: 100, value: pct })
    fill(this.live, h('div', { id: 'stage', 'data-stage': stage }, t.stages[stage] ?? stage, ` · ${pct}%`), bar)
  }

  private completed(g: Generation) {
    if (g.id !== this.current) return
    this.progress(g.id, 'completed', 100)
    if (g.imageUrl) this.live.append(h('figure', { id: 'result' }, h('img', { src: g.imageUrl, alt: g.prompt })))
    this.onFinished()
  }
}

function swatch(color: string) {
  const s = h('span', { class: 'swatch', title: color })
  s.style.background = color
  return s
}
