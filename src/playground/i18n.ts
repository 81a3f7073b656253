/** The playground's labels in English and Arabic; the choice is kept in localStorage. */
export type Lang = 'en' | 'ar'

const en = {
  title: 'Kiln playground',
  signInTitle: 'Sign in',
  email: 'Email',
  tier: 'Tier',
  devSignIn: 'Dev sign-in',
  google: 'Sign in with Google',
  signOut: 'Sign out',
  style: 'Style',
  palette: 'Palette',
  noPalette: 'None',
  aspect: 'Aspect ratio',
  size: 'Size',
  prompt: 'Prompt',
  promptPlaceholder: 'A cosy cabin in the snow',
  generate: 'Generate',
  history: 'History',
  empty: 'Nothing yet: generate your first image.',
  like: 'Like',
  unlike: 'Unlike',
  download: 'Download',
  previous: 'Previous',
  next: 'Next',
  pageOf: (p: number, n: number) => `Page ${p} of ${n}`,
  language: 'العربية',
  live: 'live',
  offline: 'reconnecting…',
  stages: { queued: 'Queued', analyzing: 'Analyzing', generating: 'Generating', finalizing: 'Finalizing', completed: 'Completed', failed: 'Failed', cancelled: 'Cancelled' } as Record<string, string>,
}
export type Labels = typeof en

const ar: Labels = {
  title: 'ملعب كيلن',
  signInTitle: 'تسجيل الدخول',
  email: 'البريد الإلكتروني',
  tier: 'الباقة',
  devSignIn: 'دخول المطوّر',
  google: 'الدخول عبر Google',
  signOut: 'تسجيل الخروج',
  style: 'النمط',
  palette: 'لوحة الألوان',
  noPalette: 'بدون',
  aspect: 'نسبة الأبعاد',
  size: 'الحجم',
  prompt: 'الوصف',
  promptPlaceholder: 'كوخ دافئ وسط الثلج',
  generate: 'أنشئ',
  history: 'السجل',
  empty: 'لا شيء بعد: أنشئ صورتك الأولى.',
  like: 'إعجاب',
  unlike: 'إلغاء الإعجاب',
  download: 'تنزيل',
  previous: 'السابق',
  next: 'التالي',
  pageOf: (p: number, n: number) => `الصفحة ${p} من ${n}`,
  language: 'English',
  live: 'متصل',
  offline: 'جارٍ إعادة الاتصال…',
  stages: { queued: 'في الانتظار', analyzing: 'تحليل', generating: 'إنشاء', finalizing: 'إنهاء', completed: 'اكتمل', failed: 'فشل', cancelled: 'أُلغي' },
}

const KEY = 'kiln.lang'

export function savedLang(): Lang {
  try {
    const v = localStorage.getItem(KEY)
    if (v === 'en' || v === 'ar') return v
  } catch {
    // storage can be disabled; fall back to the page's language
  }
  return document.documentElement.lang === 'ar' ? 'ar' : 'en'
}

/** Switches the page's language and direction and remembers the choice. */
export function applyLang(lang: Lang): Labels {
  try {
    localStorage.setItem(KEY, lang)
  } catch {
    // not remembered, still applied
  }
  document.documentElement.lang = lang
  document.documentElement.dir = lang === 'ar' ? 'rtl' : 'ltr'
  return lang === 'ar' ? ar : en
}
