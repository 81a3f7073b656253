/** The seeded catalogue of styles and palettes (DESIGN.md "Generation input"). */
import type { LocalisedText } from '../../adapters/db/schema/styles'

export interface StyleSeed {
  id: string
  kind: '3d' | 'infographic'
  title: LocalisedText
  description: LocalisedText
  defaultPrompt: LocalisedText
  falModel: string
  promptPrefix: string
  sortOrder: number
}

export interface PaletteSeed {
  id: string
  name: LocalisedText
  colors: string[]
  sortOrder: number
}

export const STYLE_SEEDS: StyleSeed[] = [
  {
    id: 'voxel-3d',
    kind: '3d',
    title: { en: 'Voxel 3D', ar: 'فوكسل ثلاثي الأبعاد' },
    description: { en: 'Blocky isometric voxel art with soft lighting', ar: 'فن فوكسل متساوي القياس بإضاءة ناعمة' },
    defaultPrompt: { en: 'a cozy cabin in the woods', ar: 'كوخ دافئ في الغابة' },
    falModel: 'fal-ai/flux/dev',
    promptPrefix: '3D voxel art, isometric view, cubic blocks, soft global illumination,',
    sortOrder: 10,
  },
  {
    id: 'minimal-icon',
    kind: '3d',
    title: { en: 'Minimal icon', ar: 'أيقونة بسيطة' },
    description: { en: 'Clean rounded 3D icon on a plain background', ar: 'أيقونة ثلاثية الأبعاد نظيفة على خلفية سادة' },
    defaultPrompt: { en: 'a rocket', ar: 'صاروخ' },
    falModel: 'fal-ai/flux/schnell',
    promptPrefix: 'minimal 3D icon, rounded shapes, clay render, centered, plain background,',
    sortOrder: 20,
  },
  {
    id: 'glass-morphism',
    kind: '3d',
    title: { en: 'Glass morphism', ar: 'زجاجي' },
    description: { en: 'Frosted translucent glass shapes with gradients', ar: 'أشكال زجاجية شفافة مع تدرجات' },
    defaultPrompt: { en: 'a cloud with a lightning bolt', ar: 'سحابة مع برق' },
    falModel: 'fal-ai/flux/dev',
    promptPrefix: 'glassmorphism 3D icon, frosted translucent glass, soft gradients, refraction,',
    sortOrder: 30,
  },
  {
    id: 'neon-glow',
    kind: '3d',
    title: { en: 'Neon glow', ar: 'توهج نيون' },
    description: { en: 'Glowing neon tubes on a dark backdrop', ar: 'أنابيب نيون متوهجة على خلفية داكنة' },
    defaultPrompt: { en: 'a game controller', ar: 'يد تحكم ألعاب' },
    falModel: 'fal-ai/flux/dev',
    promptPrefix: 'neon glow 3D icon, luminous tubes, dark background, bloom,',
    sortOrder: 40,
  },
  {
    id: 'toy-figurine',
    kind: '3d',
    title: { en: 'Toy figurine', ar: 'مجسم لعبة' },
    description: { en: 'Glossy vinyl toy figurine, studio lit', ar: 'مجسم لعبة فينيل لامع بإضاءة استوديو' },
    defaultPrompt: { en: 'a friendly robot', ar: 'روبوت ودود' },
    falModel: 'fal-ai/flux-pro/v1.1',
    promptPrefix: 'collectible vinyl toy figurine, glossy plastic, studio lighting, 3D render,',
    sortOrder: 50,
  },
  {
    id: 'modern',
    kind: 'infographic',
    title: { en: 'Modern', ar: 'عصري' },
    description: { en: 'Bold flat infographic with clear hierarchy', ar: 'إنفوجرافيك مسطح جريء بتسلسل واضح' },
    defaultPrompt: { en: 'how solar panels work', ar: 'كيف تعمل الألواح الشمسية' },
    falModel: 'fal-ai/flux/dev',
    promptPrefix: 'modern flat infographic, bold typography, clean icons, clear visual hierarchy,',
    sortOrder: 110,
  },
  {
    id: 'minimal',
    kind: 'infographic',
    title: { en: 'Minimal', ar: 'بسيط' },
    description: { en: 'Sparse layout, lots of white space', ar: 'تصميم متباعد بمساحات بيضاء واسعة' },
    defaultPrompt: { en: 'the water cycle', ar: 'دورة الماء' },
    falModel: 'fal-ai/flux/dev',
    promptPrefix: 'minimalist infographic, generous white space, thin lines, simple icons,',
    sortOrder: 120,
  },
  {
    id: 'corporate',
    kind: 'infographic',
    title: { en: 'Corporate', ar: 'مؤسسي' },
    description: { en: 'Polished business report look', ar: 'مظهر تقرير أعمال مصقول' },
    defaultPrompt: { en: 'quarterly growth in four steps', ar: 'النمو الفصلي في أربع خطوات' },
    falModel: 'fal-ai/flux/dev',
    promptPrefix: 'corporate infographic, professional charts, grid layout, business presentation,',
    sortOrder: 130,
  },
  {
    id: 'cyberpunk',
    kind: 'infographic',
    title: { en: 'Cyberpunk', ar: 'سايبربانك' },
    description: { en: 'Dark, high-tech, glowing data panels', ar: 'لوحات بيانات متوهجة داكنة وعالية التقنية' },
    defaultPrompt: { en: 'how the internet routes a packet', ar: 'كيف يوجه الإنترنت حزمة بيانات' },
    falModel: 'fal-ai/flux/dev',
    promptPrefix: 'cyberpunk infographic, dark background, glowing HUD panels, futuristic data viz,',
    sortOrder: 140,
  },
  {
    id: 'hand-drawn',
    kind: 'infographic',
    title: { en: 'Hand-drawn', ar: 'مرسوم باليد' },
    description: { en: 'Sketchy doodles and handwritten labels', ar: 'رسومات تخطيطية وعناوين بخط اليد' },
    defaultPrompt: { en: 'a morning routine', ar: 'روتين الصباح' },
    falModel: 'fal-ai/flux/dev',
    promptPrefix: 'hand-drawn infographic, sketch doodles, handwritten labels, paper texture,',
    sortOrder: 150,
  },
]

export const PALETTE_SEEDS: PaletteSeed[] = [
  { id: 'ocean', name: { en: 'Ocean', ar: 'المحيط' }, colors: ['#03045e', '#0077b6', '#00b4d8', '#90e0ef', '#caf0f8'], sortOrder: 10 },
  { id: 'sunset', name: { en: 'Sunset', ar: 'الغروب' }, colors: ['#ff7b00', '#ff5400', '#ff0054', '#9e0059', '#390099'], sortOrder: 20 },
  { id: 'forest', name: { en: 'Forest', ar: 'الغابة' }, colors: ['#081c15', '#1b4332', '#2d6a4f', '#52b788', '#b7e4c7'], sortOrder: 30 },
  { id: 'monochrome', name: { en: 'Monochrome', ar: 'أحادي اللون' }, colors: ['#111111', '#444444', '#777777', '#bbbbbb', '#eeeeee'], sortOrder: 40 },
  { id: 'neon', name: { en: 'Neon', ar: 'نيون' }, colors: ['#f72585', '#7209b7', '#3a0ca3', '#4361ee', '#4cc9f0'], sortOrder: 50 },
  { id: 'pastel', name: { en: 'Pastel', ar: 'باستيل' }, colors: ['#ffadad', '#ffd6a5', '#fdffb6', '#caffbf', '#bdb2ff'], sortOrder: 60 },
  { id: 'earth', name: { en: 'Earth', ar: 'الأرض' }, colors: ['#582f0e', '#7f4f24', '#936639', '#a68a64', '#c2c5aa'], sortOrder: 70 },
]
