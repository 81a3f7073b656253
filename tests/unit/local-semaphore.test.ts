import { describe, expect, test } from 'bun:test'
import { Semaphore } from '../../src/lib/semaphore'

describe('Semaphore', () => {
  test('caps concurrency and wakes waiters in FIFO order', async () => {
    const s = new Semaphore(2)
    const order: number[] = []
    let active = 0
    let peak = 0
    await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        s.run(async () => {
          order.push(i)
          peak = Math.max(peak, ++active)
          await Bun.sleep(5)
          active--
        }),
      ),
    )
    expect(peak).toBe(2)
    expect(order).toEqual([0, 1, 2, 3, 4, 5])
    expect([s.running, s.waiting]).toEqual([0, 0])
  })

  test('a task that throws still releases its slot; double release is harmless', async () => {
    const s = new Semaphore(1)
    await expect(s.run(async () => Promise.reject(new Error('x')))).rejects.toThrow('x')
    const release = await s.acquire()
    release()
    release()
    expect(s.running).toBe(0)
  })

  test('a waiter can give up through its signal without taking a slot', async () => {
    const s = new Semaphore(1)
    const hold = await s.acquire()
    const ac = new AbortController()
    const waiting = s.acquire(ac.signal)
    expect(s.waiting).toBe(1)
    ac.abort()
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' })
    expect(s.waiting).toBe(0)
    hold()
    expect(s.running).toBe(0)
  })

  test('growing the cap starts waiters at once; bad caps are refused', async () => {
    const s = new Semaphore(1)
    const hold = await s.acquire()
    let started = false
    const next = s.acquire().then((r) => {
      started = true
      return r
    })
    s.resize(2)
    ;(await next)()
    expect(started).toBe(true)
    hold()
    expect(() => new Semaphore(0)).toThrow(RangeError)
    expect(() => s.resize(1.5)).toThrow(RangeError)
  })
})
