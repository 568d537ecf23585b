/**
 * electron-builder configuration. A JS file (not YAML) so the test build can keep the inspector
 * fuse that Playwright's _electron needs: ATELIER_TEST_BUILD=1 npm run dist -- --dir.
 * Offline builds: set ELECTRON_OVERRIDE_DIST_PATH (or electronDist below via ATELIER_ELECTRON_DIST)
 * to an unpacked Electron, so nothing is downloaded.
 */
const testBuild = process.env.ATELIER_TEST_BUILD === '1';

/** @type {import('electron-builder').Configuration} */
module.exports = {
  appId: 'app.atelier.studio',
  productName: 'Atelier',
  copyright: 'Copyright © 2026 Atelier developers',
  directories: { output: 'release', buildResources: 'resources/build' },
  files: [
    'out/**',
    'package.json',
    '!**/*.map',
    '!src/**',
    '!tests/**',
    '!scripts/**',
    '!docs/**',
    // onnxruntime-node ships every platform's binaries (~155 MB); keep the target's only (~45 MB).
    '!node_modules/onnxruntime-node/bin/napi-v*/**',
    'node_modules/onnxruntime-node/bin/napi-v*/${platform}/${arch}/**',
  ],
  // Shipped demo models and the demo dataset subset live next to the app, read-only.
  extraResources: [
    { from: 'models', to: 'models', filter: ['**/*'] },
    { from: 'resources', to: 'resources', filter: ['**/*', '!build/**'] },
  ],
  // Native modules and the wasm binaries must be real files on disk, not inside the asar.
  asarUnpack: [
    'node_modules/sharp/**',
    'node_modules/@img/**',
    'node_modules/onnxruntime-node/**',
    'node_modules/@tensorflow/tfjs-node/**',
    'node_modules/@tensorflow/tfjs-backend-wasm/dist/**/*.wasm',
  ],
  // Native modules ship prebuilt for Node-API; rebuilding needs headers we cannot download offline.
  npmRebuild: false,
  ...(process.env.ATELIER_ELECTRON_DIST ? { electronDist: process.env.ATELIER_ELECTRON_DIST } : {}),
  fileAssociations: [{ ext: 'atelier', name: 'Atelier model bundle', description: 'Atelier model bundle', role: 'Viewer', icon: 'icon' }],
  electronFuses: {
    runAsNode: false,
    enableNodeOptionsEnvironmentVariable: false,
    enableNodeCliInspectArguments: testBuild,
    onlyLoadAppFromAsar: true,
    enableCookieEncryption: true,
    enableEmbeddedAsarIntegrityValidation: true,
    grantFileProtocolExtraPrivileges: false,
  },
  linux: { target: ['AppImage', 'deb'], category: 'Graphics', icon: 'resources/build/icon.png', synopsis: 'Offline studio for image translation and latent exploration' },
  deb: { depends: [] },
  mac: { target: ['dmg'], category: 'public.app-category.graphics-design', icon: 'resources/build/icon.png', hardenedRuntime: true },
  win: { target: ['nsis'], icon: 'resources/build/icon.png' },
  nsis: { oneClick: false, perMachine: false, allowToChangeInstallationDirectory: true },
};
