/** Small inline SVG icons (bundled: offline, CSP-safe). 20x20, stroke = currentColor. */
import type { ReactElement } from 'react';

const P = (d: string) => <path d={d} />;

const paths: Record<string, ReactElement> = {
  data: (
    <>
      <rect x="3" y="3" width="6" height="6" rx="1" />
      <rect x="11" y="3" width="6" height="6" rx="1" />
      <rect x="3" y="11" width="6" height="6" rx="1" />
      <rect x="11" y="11" width="6" height="6" rx="1" />
    </>
  ),
  train: P('M3 16 L7 10 L10 12 L13 6 L17 4 M3 3 V17 H17'),
  translate: (
    <>
      <rect x="2.5" y="5" width="6" height="10" rx="1" />
      <rect x="11.5" y="5" width="6" height="10" rx="1" />
      {P('M8.5 10 H11.5')}
    </>
  ),
  latent: (
    <>
      <circle cx="10" cy="10" r="7" />
      <circle cx="10" cy="10" r="3" />
      {P('M10 3 V1.5 M10 18.5 V17 M3 10 H1.5 M18.5 10 H17')}
    </>
  ),
  explore: (
    <>
      <circle cx="5" cy="13" r="1.5" />
      <circle cx="8" cy="7" r="1.5" />
      <circle cx="13" cy="11" r="1.5" />
      <circle cx="15" cy="5" r="1.5" />
      <circle cx="11" cy="16" r="1.5" />
    </>
  ),
  models: (
    <>
      {P('M10 2.5 L17 6 V14 L10 17.5 L3 14 V6 Z')}
      {P('M3 6 L10 9.5 L17 6 M10 9.5 V17.5')}
    </>
  ),
  gallery: (
    <>
      <rect x="2.5" y="4" width="15" height="12" rx="1.5" />
      {P('M2.5 13 L7 9 L10.5 12 L13 10 L17.5 14')}
    </>
  ),
  close: P('M5 5 L15 15 M15 5 L5 15'),
  copy: (
    <>
      <rect x="7" y="7" width="9" height="10" rx="1.5" />
      {P('M4 13 V4.5 A1.5 1.5 0 0 1 5.5 3 H12')}
    </>
  ),
  stop: <rect x="5" y="5" width="10" height="10" rx="1.5" />,
  pause: P('M7 4 V16 M13 4 V16'),
  play: P('M6 4 L16 10 L6 16 Z'),
  upload: P('M10 14 V3 M5.5 7.5 L10 3 L14.5 7.5 M3 14 V17 H17 V14'),
  folder: P('M2.5 5.5 A1 1 0 0 1 3.5 4.5 H8 L9.5 6.5 H16.5 A1 1 0 0 1 17.5 7.5 V15 A1 1 0 0 1 16.5 16 H3.5 A1 1 0 0 1 2.5 15 Z'),
  trash: P('M4 6 H16 M8 6 V4 H12 V6 M5.5 6 L6.5 17 H13.5 L14.5 6'),
  zoomIn: (
    <>
      <circle cx="9" cy="9" r="5.5" />
      {P('M13 13 L17 17 M9 6.5 V11.5 M6.5 9 H11.5')}
    </>
  ),
  zoomOut: (
    <>
      <circle cx="9" cy="9" r="5.5" />
      {P('M13 13 L17 17 M6.5 9 H11.5')}
    </>
  ),
  dice: (
    <>
      <rect x="3.5" y="3.5" width="13" height="13" rx="2" />
      <circle cx="7.5" cy="7.5" r="0.8" />
      <circle cx="12.5" cy="12.5" r="0.8" />
      <circle cx="10" cy="10" r="0.8" />
    </>
  ),
  reveal: P('M3 10 C5 5.5 15 5.5 17 10 C15 14.5 5 14.5 3 10 Z M10 12 A2 2 0 1 0 10 8 A2 2 0 1 0 10 12'),
  download: P('M10 3 V13 M5.5 8.5 L10 13 L14.5 8.5 M3 14 V17 H17 V14'),
};

export type IconName = keyof typeof paths;

export function Icon({ name, size = 18, title }: { name: IconName | string; size?: number; title?: string }) {
  return (
    <svg
      width={size}
      height={size}
      viewBox="0 0 20 20"
      fill="none"
      stroke="currentColor"
      strokeWidth={1.5}
      strokeLinecap="round"
      strokeLinejoin="round"
      aria-hidden={title ? undefined : true}
      role={title ? 'img' : undefined}
    >
      {title ? <title>{title}</title> : null}
      {paths[name] ?? null}
    </svg>
  );
}
