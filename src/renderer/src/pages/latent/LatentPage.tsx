/**
 * Latent: the image follows the sliders live (latent.render through a latest-only requester:
 * debounced, one request in flight, stale values dropped). Seed + new sample, PCA-direction
 * sliders (latent.directions, sigma units) first, raw dimensions under a disclosure, cgan class
 * and class blend, keyframes A/B with an interpolation strip (lerp/slerp) and frame export.
 */
import { useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import type { DirectionsRequest, LatentDirections, PcaSlidersDto, ZRefDto } from '../../../../shared/channels/latent';
import type { PngImage } from '../../../../shared/channels/infer';
import { toErrorData, type ErrorData } from '../../../../shared/errors';
import { DropZone } from '../../components/DropZone';
import { EmptyState, GoTo, MissingChannels } from '../../components/EmptyState';
import { Icon } from '../../components/Icons';
import { ZoomView } from '../../components/ImageView';
import { Field, PageLayout, Panel } from '../../components/Layout';
import { LabeledSlider } from '../../components/Slider';
import { ErrorInline } from '../../components/Toasts';
import { RestoreNote } from '../../components/RestoreNote';
import { generates, useBundles, type BundleView } from '../../lib/bundles';
import { isPng, latentSettingsOf, type KeyPoint, type LatentSettings } from '../../lib/restore';
import { useRestore } from '../../store/restore';
import type { ProvenanceCheck } from '../../../../shared/channels/provenance';
import { createLatest } from '../../lib/latest';
import { useKeys } from '../../lib/keys';
import { downloadBytes, usePngUrl } from '../../lib/png';
import { saveOutput } from '../../lib/save';
import { useLoad } from '../../lib/useLoad';
import { reportError } from '../../store/ui';
import { available, call } from '../../studio';

type Rendered = PngImage & { z: number[]; ms: number };

interface Keyframe {
  /** A latent point (from the current render) ... */
  z?: number[];
  /** ... or, for autoencoders, an image the engine encodes. */
  image?: Uint8Array;
  png: Uint8Array;
}

/** A keyframe slot; autoencoders also take a dropped image. */
function KeySlot({ k, side, acceptImage, onImage }: { k: Keyframe | null; side: 'A' | 'B'; acceptImage: boolean; onImage(bytes: Uint8Array): void }) {
  const body = k ? <FrameImg png={k.png} size={72} alt={`Keyframe ${side}`} /> : <div className="thumb" style={{ width: 72 }} />;
  return (
    <div className="col" style={{ alignItems: 'center' }}>
      {acceptImage ? (
        <DropZone
          testId={`key-${side.toLowerCase()}-drop`}
          className="key-drop"
          multiple={false}
          folders={false}
          label="Image…"
          onFiles={async (d) => {
            const f = d.files[0];
            if (f) onImage(new Uint8Array(await f.arrayBuffer()));
          }}
        >
          {body}
        </DropZone>
      ) : (
        body
      )}
      <span className="muted small">{side}</span>
    </div>
  );
}

const SIGMA = 3;

function FrameImg({ png, size, alt, testId }: { png: Uint8Array; size: number; alt: string; testId?: string }) {
  const url = usePngUrl(png);
  return url ? <img src={url} alt={alt} width={size} height={size} className="pixelated" style={{ borderRadius: 4, background: '#0e0f12' }} data-testid={testId} /> : null;
}

/** The directions request of the page (latent.directions); the render names its sliders by this same request. */
export const DEFAULT_DIRECTIONS: DirectionsRequest = { count: 8, samples: 256, seed: 0, space: 'features' };

export function buildRenderRequest(o: {
  model: string;
  seed: number;
  /** A vector to render instead of the seed's (a restored arithmetic render or interpolation frame). */
  zVec?: number[] | null;
  dirReq: DirectionsRequest | null;
  amounts: number[];
  dims: Record<number, number>;
  label: number | null;
  blendTo: number | null;
  blendT: number;
}) {
  // Sliders go by index with the directions request: the engine applies its cached directions and
  // records the positions in the PNG, so a dropped image restores them.
  const pca: PcaSlidersDto | null = o.dirReq && o.amounts.some((a) => a !== 0) ? { ...o.dirReq, amounts: o.amounts } : null;
  const dims = Object.entries(o.dims).map(([k, v]) => ({ index: Number(k), value: v }));
  return {
    model: o.model,
    z: (o.zVec ? { z: o.zVec } : { seed: o.seed }) as ZRefDto,
    ...(pca ? { pca } : {}),
    ...(dims.length ? { dims } : {}),
    ...(o.label !== null && o.blendTo !== null && o.blendT > 0
      ? { blend: { a: o.label, b: o.blendTo, t: o.blendT } }
      : o.label !== null
        ? { label: o.label }
        : {}),
  };
}

/** Settings a dropped PNG restores (from its provenance), applied when the studio mounts. */
export type LatentRestore = LatentSettings;

function LatentStudio({ bundle, picker, restore, banner, onDropPng }: { bundle: BundleView; picker: ReactNode; restore: LatentRestore | null; banner: ReactNode; onDropPng(bytes: Uint8Array): void }) {
  const [seed, setSeed] = useState(restore?.seed ?? 0);
  // A restored vector (arithmetic, pasted, an interpolation frame) rendered instead of the seed's.
  const [zVec, setZVec] = useState<number[] | null>(restore?.z ?? null);
  const [directions, setDirections] = useState<LatentDirections | null>(null);
  const [dirReq, setDirReq] = useState<DirectionsRequest | null>(null);
  const [dirError, setDirError] = useState<ErrorData | null>(null);
  const [amounts, setAmounts] = useState<number[]>(restore?.amounts ?? []);
  const [dims, setDims] = useState<Record<number, number>>(restore?.dims ?? {});
  const classes = bundle.classNames ?? [];
  const conditional = !!bundle.capabilities.generate?.classes && classes.length > 0;
  const classOptions = classes.map((c, i) => (
    <option key={i} value={i}>
      {c}
    </option>
  ));
  const [label, setLabel] = useState<number | null>(conditional ? (restore?.label ?? 0) : null);
  const [blendTo, setBlendTo] = useState<number | null>(restore?.blendTo ?? null);
  const [blendT, setBlendT] = useState(restore?.blendT ?? 0);
  const [image, setImage] = useState<Rendered | null>(null);
  const [renderError, setRenderError] = useState<ErrorData | null>(null);
  const isAe = !!bundle.capabilities.encode;
  const [keyA, setKeyA] = useState<Keyframe | null>(null);
  const [keyB, setKeyB] = useState<Keyframe | null>(null);
  const [mode, setMode] = useState<'lerp' | 'slerp'>(restore?.interpolation?.mode ?? 'slerp');
  const [steps, setSteps] = useState(restore?.interpolation?.steps ?? 8);
  const [strip, setStrip] = useState<PngImage[] | null>(null);
  const [sheet, setSheet] = useState<PngImage | null>(null);
  const [stripBusy, setStripBusy] = useState(false);
  const url = usePngUrl(image?.png);

  // One live requester per bundle: debounced, at most one in flight, newest value wins.
  const requester = useRef<ReturnType<typeof createLatest<ReturnType<typeof buildRenderRequest>, Rendered>> | null>(null);
  useEffect(() => {
    const r = createLatest((req: ReturnType<typeof buildRenderRequest>) => call('latent.render', req), {
      onResult: (res) => {
        setImage(res);
        setRenderError(null);
      },
      onError: (e) => setRenderError(toErrorData(e)),
    }, 24);
    requester.current = r;
    return () => r.dispose();
  }, [bundle.id]);

  const req = useMemo(
    () => buildRenderRequest({ model: bundle.id, seed, zVec, dirReq: directions ? dirReq : null, amounts, dims, label, blendTo, blendT }),
    [bundle.id, seed, zVec, directions, dirReq, amounts, dims, label, blendTo, blendT],
  );
  useEffect(() => {
    requester.current?.push(req);
  }, [req]);

  // Base z of the seed, for the raw-dimension sliders.
  const base = useLoad(available('latent.sample') ? () => call('latent.sample', { model: bundle.id, seed, count: 1 }) : null, [bundle.id, seed]);
  const baseZ = zVec ?? (base.error ? null : (base.data?.z[0] ?? null));

  const loadDirections = async () => {
    if (!available('latent.directions')) return;
    setDirError(null);
    // A restored image names the directions request its sliders were set on; else the page's default.
    const dreq: DirectionsRequest = restore?.dirReq ?? { ...DEFAULT_DIRECTIONS, ...(label !== null ? { label } : {}) };
    try {
      const d = await call('latent.directions', { model: bundle.id, ...dreq });
      setDirReq(dreq);
      setDirections(d);
      setAmounts((a) => Array.from({ length: d.directions.length }, (_, i) => a[i] ?? 0));
    } catch (e) {
      setDirError(toErrorData(e));
    }
  };
  useEffect(() => {
    void loadDirections();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [bundle.id]);

  const keyframe = (): Keyframe | null => (image ? { z: image.z, png: image.png } : null);

  /** Interpolate between two keyframes (the current ones, or a restored path's, passed before its state lands). */
  const interpolate = async (a = keyA, b = keyB, path = { steps, mode }): Promise<number[][] | null> => {
    if (!a || !b) return null;
    setStripBusy(true);
    try {
      const r = await call('latent.interpolate', {
        model: bundle.id,
        ...(a.image && b.image
          ? { fromImage: a.image, toImage: b.image }
          : a.z && b.z
            ? { from: { z: a.z }, to: { z: b.z } }
            : (() => {
                throw new Error('Use two images or two latent points as keyframes, not one of each.');
              })()),
        steps: path.steps,
        mode: path.mode,
        sheet: true,
        ...(conditional && label !== null ? (blendTo !== null ? { blend: { a: label, b: blendTo } } : { label }) : {}),
      });
      setStrip(r.frames);
      setSheet(r.sheet ?? null);
      return r.z;
    } catch (e) {
      reportError('Interpolate', e);
      return null;
    } finally {
      setStripBusy(false);
    }
  };

  // A restored interpolation: rebuild keyframes A and B from the record's seeds or vectors, run the
  // path again, and show the frame (its recorded vector, else the path's frame-th point).
  useEffect(() => {
    const path = restore?.interpolation;
    if (!path) return;
    let live = true;
    void (async () => {
      try {
        const cls = conditional && label !== null ? { label } : {};
        const key = async (pt: KeyPoint): Promise<Keyframe> => {
          const r = await call('latent.render', { model: bundle.id, z: pt, ...cls });
          return { z: r.z, png: r.png };
        };
        const [a, b] = await Promise.all([key(path.from), key(path.to)]);
        if (!live) return;
        setKeyA(a);
        setKeyB(b);
        const zs = await interpolate(a, b, path);
        if (live && zs && path.frame !== undefined && !restore?.z && zs[path.frame]) setZVec(zs[path.frame]!);
      } catch (e) {
        reportError('Restore the interpolation', e);
      }
    })();
    return () => {
      live = false;
    };
    // Once per restore (the studio is keyed by the restore's nonce).
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  /** One PNG with every frame side by side, made by the engine so it carries the path's provenance. */
  const exportSheet = () => {
    if (sheet) saveOutput(sheet.png, `${bundle.id}-${mode}-${strip?.length ?? 0}frames.png`);
  };
  /** The current render as the engine returned it: the PNG carries seed, sliders and class blend. */
  const saveImage = () => {
    if (image) saveOutput(image.png, `${bundle.id}-seed${seed}.png`);
  };
  const exportFrames = () => {
    strip?.forEach((f, i) => downloadBytes(f.png, `${bundle.id}-${mode}-${String(i).padStart(3, '0')}.png`));
  };

  const resetSliders = () => {
    setAmounts((a) => a.map(() => 0));
    setDims({});
  };

  const latentSize = bundle.latentSize ?? baseZ?.length ?? 0;

  const [seedText, setSeedText] = useState(String(seed));
  useEffect(() => setSeedText(String(seed)), [seed]);
  const newSeed = (s: number) => {
    setSeed(s);
    setZVec(null);
    setDims({});
  };
  // N: new sample; A / B: keyframes from the current image.
  useKeys({
    n: () => newSeed(Math.floor(Math.random() * 2 ** 31)),
    a: () => image && setKeyA({ z: image.z, png: image.png }),
    b: () => image && setKeyB({ z: image.z, png: image.png }),
  });

  const side = (
    <>
      {picker}
      <Panel title="Sample">
        <Field label="Seed" hint="Same seed, same image. N: new sample.">
          <div className="row" style={{ flexWrap: 'nowrap' }}>
            <input
              type="number"
              min={0}
              value={seedText}
              onChange={(e) => {
                setSeedText(e.currentTarget.value);
                const n = Number(e.currentTarget.value);
                if (Number.isInteger(n) && n >= 0 && n < 2 ** 32) newSeed(n);
              }}
              data-testid="latent-seed"
            />
            <button type="button" className="btn" onClick={() => newSeed(Math.floor(Math.random() * 2 ** 31))} data-testid="new-sample" title="New sample (N)">
              <Icon name="dice" size={14} /> New sample
            </button>
          </div>
        </Field>
      </Panel>
      {conditional ? (
        <Panel title="Class">
          <Field label="Class">
            <select value={label ?? 0} onChange={(e) => setLabel(Number(e.currentTarget.value))} data-testid="latent-class">
              {classOptions}
            </select>
          </Field>
          <Field label="Blend towards">
            <select value={blendTo ?? ''} onChange={(e) => setBlendTo(e.currentTarget.value === '' ? null : Number(e.currentTarget.value))} data-testid="latent-blend-to">
              <option value="">(none)</option>
              {classOptions}
            </select>
          </Field>
          <LabeledSlider label="Class blend" value={blendT} min={0} max={1} step={0.01} disabled={blendTo === null} onChange={setBlendT} format={(v) => `${Math.round(v * 100)}%`} testId="class-blend" />
        </Panel>
      ) : null}
      <Panel title="Directions (PCA, σ)" actions={<button type="button" className="btn ghost small" onClick={resetSliders}>Reset</button>}>
        {dirError ? <ErrorInline title="PCA directions" error={dirError} /> : null}
        {!directions && !dirError ? <div className="muted small">Finding the main directions of variation…</div> : null}
        {directions?.directions.map((_, i) => (
          <LabeledSlider
            key={i}
            label={`PC${i + 1}`}
            hint={`${((directions.explainedVarianceRatio[i] ?? 0) * 100).toFixed(1)}% of the variance`}
            value={amounts[i] ?? 0}
            min={-SIGMA}
            max={SIGMA}
            step={0.05}
            centered
            onChange={(v) => setAmounts((a) => a.map((x, j) => (j === i ? v : x)))}
            format={(v) => `${v >= 0 ? '+' : ''}${v.toFixed(2)}σ · ${((directions.explainedVarianceRatio[i] ?? 0) * 100).toFixed(0)}% var`}
            testId={`pc-slider-${i}`}
          />
        ))}
        <details>
          <summary>Raw dimensions ({latentSize})</summary>
          <div className="col" style={{ marginTop: 8 }}>
            {baseZ ? (
              baseZ.slice(0, 128).map((v, i) => (
                <LabeledSlider
                  key={i}
                  label={`z[${i}]`}
                  value={dims[i] ?? v}
                  min={-SIGMA}
                  max={SIGMA}
                  step={0.05}
                  centered
                  onChange={(nv) => setDims((d) => ({ ...d, [i]: nv }))}
                  format={(x) => x.toFixed(2)}
                />
              ))
            ) : (
              <span className="muted small">The seed's vector is not available{base.error ? `: ${base.error.message}` : '.'}</span>
            )}
            {baseZ && baseZ.length > 128 ? <span className="muted small">First 128 of {baseZ.length} dimensions.</span> : null}
          </div>
        </details>
      </Panel>
    </>
  );

  return (
    <PageLayout title="Latent" side={side} testId="page-latent">
      {banner}
      {renderError ? <ErrorInline title="Render" error={renderError} onDismiss={() => setRenderError(null)} /> : null}
      <DropZone
        testId="latent-drop"
        className="page-drop"
        multiple={false}
        folders={false}
        accept="image/png"
        label="Restore from PNG…"
        onFiles={async (d) => {
          const f = d.files[0];
          if (f) onDropPng(new Uint8Array(await f.arrayBuffer()));
        }}
      >
        <div style={{ height: 420 }} data-testid="latent-view">
          {url && image ? (
            <ZoomView src={url} width={image.width} height={image.height} alt={`Seed ${seed}`} testId="latent-image" />
          ) : (
            <div className="muted" style={{ display: 'grid', placeItems: 'center', height: '100%' }}>
              Rendering…
            </div>
          )}
        </div>
      </DropZone>
      <div className="row">
        <span className="muted small" data-testid="latent-caption">{image ? `${bundle.name} · ${zVec ? 'restored vector' : `seed ${seed}`} · ${image.width}×${image.height} · ${Math.round(image.ms)} ms per frame` : ''}</span>
        <button type="button" className="btn small" disabled={!image} onClick={saveImage} data-testid="latent-save" title="Save this image (PNG with its seed and sliders; drop it back here to restore them)">
          <Icon name="download" size={14} /> Save image
        </button>
      </div>
      <div className="section" style={{ marginTop: 16 }}>
        <div className="section-head">
          <h3>Interpolation</h3>
          <button type="button" className="btn small" disabled={!image} onClick={() => setKeyA(keyframe())} data-testid="set-key-a">
            Set A
          </button>
          <button type="button" className="btn small" disabled={!image} onClick={() => setKeyB(keyframe())} data-testid="set-key-b">
            Set B
          </button>
          <div className="seg">
            {(['lerp', 'slerp'] as const).map((m) => (
              <button key={m} type="button" className={mode === m ? 'on' : ''} onClick={() => setMode(m)}>
                {m}
              </button>
            ))}
          </div>
          <label className="row small muted">
            frames
            <input type="number" min={2} max={64} value={steps} onChange={(e) => setSteps(Math.max(2, Math.min(64, Number(e.currentTarget.value) || 2)))} style={{ width: 64 }} />
          </label>
          <button type="button" className="btn small primary" disabled={!keyA || !keyB || stripBusy || !available('latent.interpolate')} onClick={() => void interpolate()} data-testid="interpolate">
            {stripBusy ? 'Rendering…' : 'Interpolate'}
          </button>
          <button type="button" className="btn small" disabled={!sheet} onClick={exportSheet} title="One PNG with all frames side by side">
            <Icon name="download" size={14} /> Export strip
          </button>
          <button type="button" className="btn small ghost" disabled={!strip} onClick={exportFrames} title="One PNG per frame" data-testid="export-frames">
            Export frames
          </button>
        </div>
        <div className="row" style={{ alignItems: 'flex-start' }}>
          <KeySlot k={keyA} side="A" acceptImage={isAe} onImage={(b) => setKeyA({ image: b, png: b })} />
          <div className="strip" style={{ maxWidth: "calc(100% - 180px)" }} data-testid="interp-strip">
            {strip ? strip.map((f, i) => <FrameImg key={i} png={f.png} size={72} alt={`frame ${i}`} />) : <span className="muted small">
                Set keyframes A and B from the current image{isAe ? ' (or drop an image on each: the autoencoder encodes it)' : ''}, then interpolate.
              </span>}
          </div>
          <KeySlot k={keyB} side="B" acceptImage={isAe} onImage={(b) => setKeyB({ image: b, png: b })} />
        </div>
      </div>
    </PageLayout>
  );
}

export function LatentPage() {
  const ready = available('latent.render') && available('bundle.list');
  const bundles = useBundles(generates);
  const [id, setId] = useState('');
  const bundle = bundles.list.find((b) => b.id === id) ?? bundles.list[0] ?? null;
  const [restore, setRestore] = useState<{ bundleId: string; settings: LatentRestore; nonce: number } | null>(null);
  const [note, setNote] = useState<{ ok: boolean; text: string } | null>(null);

  const apply = (check: ProvenanceCheck) => {
    const r = latentSettingsOf(check, bundles.list, generates);
    if (!r.ok) return setNote({ ok: false, text: r.message });
    setId(r.bundleId);
    setRestore((old) => ({ bundleId: r.bundleId, settings: r.settings, nonce: (old?.nonce ?? 0) + 1 }));
    setNote({ ok: true, text: r.note });
  };
  /** A PNG dropped on the image: the engine reads its chunk (limits + schema) and checks the bundle. */
  const onDropPng = async (bytes: Uint8Array) => {
    if (!isPng(bytes)) return setNote({ ok: false, text: 'Only PNG images carry Atelier provenance; this file is not a PNG.' });
    if (!available('provenance.read')) return setNote({ ok: false, text: 'This engine cannot read provenance (provenance.read is missing).' });
    try {
      apply(await call('provenance.read', { image: bytes }));
    } catch (e) {
      setNote({ ok: false, text: `Not restored: ${toErrorData(e).message}` });
    }
  };
  // "Reuse settings" from the Gallery: taken once the bundle list is here.
  const pending = useRestore((st) => st.pending);
  useEffect(() => {
    if (pending?.page !== 'latent' || !bundles.data) return;
    const p = useRestore.getState().take('latent');
    if (p) apply(p.check);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [pending, bundles.data]);
  const banner = <RestoreNote note={note} onDismiss={() => setNote(null)} />;

  if (!ready) {
    return (
      <PageLayout title="Latent" testId="page-latent">
        <MissingChannels what="Latent exploration" channels={['bundle.list', 'latent.render']} />
      </PageLayout>
    );
  }

  const picker = (
    <Panel title="Model">
      {bundles.error ? <ErrorInline title="List models" error={bundles.error} /> : null}
      <Field label="Generator" hint={bundle ? `${bundle.kind}, latent size ${bundle.latentSize ?? '?'}` : undefined}>
        <select value={bundle?.id ?? ''} onChange={(e) => setId(e.currentTarget.value)} data-testid="latent-bundle" disabled={!bundles.list.length}>
          {bundles.list.map((b) => (
            <option key={b.id} value={b.id}>
              {b.name} ({b.kind})
            </option>
          ))}
        </select>
      </Field>
    </Panel>
  );

  if (bundle) {
    const r = restore?.bundleId === bundle.id ? restore : null;
    return <LatentStudio key={`${bundle.id}:${r?.nonce ?? 0}`} bundle={bundle} picker={picker} restore={r?.settings ?? null} banner={banner} onDropPng={(b) => void onDropPng(b)} />;
  }
  return (
    <PageLayout title="Latent" side={picker} testId="page-latent">
      {bundles.data ? (
        <EmptyState title="No generator models yet" testId="latent-empty">
          <p>Train a GAN, conditional GAN or autoencoder on the Train page; its bundle appears here.</p>
          <GoTo page="train">Go to Train</GoTo>
        </EmptyState>
      ) : null}
    </PageLayout>
  );
}
