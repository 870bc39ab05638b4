import { chromium } from '@playwright/test';
const base = ['--disable-background-networking','--disable-component-update','--no-first-run','--disable-sync'];
const variants = {
  base: [],
  gpu: ['--disable-gpu', '--disable-dev-shm-usage', '--disable-extensions'],
  noimg: ['--blink-settings=imagesEnabled=false'],
  more: ['--disable-gpu','--disable-features=Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider,CalculateNativeWinOcclusion,InterestFeedContentSuggestions,CertificateTransparencyComponentUpdater,AutofillServerCommunication,PrivacySandboxSettings4', '--disable-renderer-backgrounding','--disable-backgrounding-occluded-windows','--disable-ipc-flooding-protection', '--mute-audio', '--disable-breakpad', '--disable-default-apps', '--disable-hang-monitor', '--disable-popup-blocking', '--disable-prompt-on-repost', '--metrics-recording-only', '--password-store=basic', '--use-mock-keychain'],
};
for (const [name, extra] of Object.entries(variants)) {
  const b = await chromium.launch({ executablePath: '/usr/bin/chromium', args: [...base, ...extra] });
  let total = 0;
  const t0 = Date.now();
  for (let i = 0; i < 4; i++) {
    const c = await b.newContext();
    const p = await c.newPage();
    for (const u of ['/', '/categories/kitchen', '/products/wool-beanie', '/cart', '/login']) await p.goto('http://127.0.0.1:3299'+u);
    await c.close();
  }
  console.log(name, Date.now() - t0);
  await b.close();
}
