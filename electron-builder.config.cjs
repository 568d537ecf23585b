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
    // Dawn (the webgpu package) ships every platform's addon (~133 MB); keep the target's only
    // (~20-40 MB; win32 keeps its d3dcompiler/dxcompiler DLLs, which sit beside dawn.node).
    // macOS has one universal addon: mac.files below adds it back.
    '!node_modules/webgpu/dist/**',
    'node_modules/webgpu/dist/${platform}-${arch}/**',
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
    // Dawn's addon (and on Windows its DLLs) must load from disk; the files filter above left only the target's.
    'node_modules/webgpu/dist/**',
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
  // The hardened-runtime signature covers the unpacked dawn.node like every other native addon.
  mac: { target: ['dmg'], files: ['node_modules/webgpu/dist/darwin-universal/**'], category: 'public.app-category.graphics-design', icon: 'resources/build/icon.png', hardenedRuntime: true },
  win: { target: ['nsis'], icon: 'resources/build/icon.png' },
  nsis: { oneClick: false, perMachine: false, allowToChangeInstallationDirectory: true },
};
