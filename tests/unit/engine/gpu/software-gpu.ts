/**
 * The GPU tests run on a software WebGPU adapter: Debian's chromium ships SwiftShader as a Vulkan
 * ICD, which Dawn (the `webgpu` package) drives through the Vulkan loader (libvulkan1). Both come
 * from apt (.ci/run installs them); without them the GPU tests skip and say why in their names.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

function vulkanLoader(): boolean {
  if (process.platform !== 'linux') return false;
  try {
    return /libvulkan\.so\.1\b/.test(execFileSync('/sbin/ldconfig', ['-p'], { encoding: 'utf8' }));
  } catch {
    return false;
  }
}

function dawnInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve('webgpu/package.json');
    return true;
  } catch {
    return false;
  }
}

/**
 * Why there is no software Vulkan device here, or null when SwiftShader and the Vulkan loader
 * are present (enough for onnxruntime's webgpu provider, which brings its own Dawn).
 */
export const noSoftwareVulkan: string | null = !fs.existsSync(SWIFTSHADER_ICD)
  ? `no SwiftShader ICD (apt chromium) at ${SWIFTSHADER_ICD}`
  : !vulkanLoader()
    ? 'no Vulkan loader (apt libvulkan1)'
    : null;

/** Why there is no software GPU for tfjs here, or null when SwiftShader + the Vulkan loader + Dawn are present. */
export const noSoftwareGpu: string | null = !dawnInstalled() ? 'the webgpu package (Dawn) is not installed' : noSoftwareVulkan;

/** Point Dawn at SwiftShader; call before the first adapter request in this process. */
export function useSoftwareGpu(): void {
  process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
}
