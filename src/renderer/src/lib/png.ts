import { useEffect, useState } from 'react';

/** PNG bytes -> a Blob URL, revoked when the bytes change or the component goes away. */
export function usePngUrl(png: Uint8Array | null | undefined, type = 'image/png'): string | null {
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    if (!png || !png.byteLength) {
      setUrl(null);
      return;
    }
    const u = URL.createObjectURL(new Blob([png as Uint8Array<ArrayBuffer>], { type }));
    setUrl(u);
    return () => URL.revokeObjectURL(u);
  }, [png, type]);
  return url;
}

/** Save bytes through a download link (browser) — Electron shows its save dialog for it too. */
export function downloadBytes(bytes: Uint8Array, name: string, type = 'image/png'): void {
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
