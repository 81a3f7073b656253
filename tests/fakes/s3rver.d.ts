// s3rver ships no types; the part the S3 fake uses.
declare module 's3rver' {
  export default class S3rver {
    constructor(opts: {
      address?: string
      port?: number
      silent?: boolean
      directory?: string
      resetOnClose?: boolean
      allowMismatchedSignatures?: boolean
      configureBuckets?: Array<{ name: string; configs: Array<string | Buffer> }>
    })
    run(): Promise<import('node:net').AddressInfo>
    close(): Promise<void>
  }
}
