/**
 * The playground's HTML shell. The app fills it in from /playground.js; the
 * server picks the first language from Accept-Language, and the app then
 * applies the choice kept in localStorage. No inline script or style: the
 * Content-Security-Policy allows only our own files.
 */
export type PageLang = 'en' | 'ar'

export function playgroundHtml(lang: PageLang = 'en'): string {
  const dir = lang === 'ar' ? 'rtl' : 'ltr'
  return `<!doctype html>
<html lang="${lang}" dir="${dir}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Kiln playground</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/playground.css">
<script type="module" src="/playground.js"></script>
</head>
<body>
<noscript>The Kiln playground needs JavaScript.</noscript>
<div id="app" aria-live="polite"></div>
</body>
</html>
`
}
