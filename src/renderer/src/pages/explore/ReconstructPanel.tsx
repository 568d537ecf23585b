/**
 * PCA with k components against an autoencoder on the same images (analysis.reconstruct): the
 * two reconstruction errors and a few original | PCA | autoencoder triplets, pixel-exact.
 */
import { useEffect, useState } from 'react';
import type { ReconstructResult } from '../../../../shared/channels/analysis';
import type { DatasetSummary } from '../../../../shared/channels/dataset';
import { toErrorData, type ErrorData } from '../../../../shared/errors';
import { ErrorInline } from '../../components/Toasts';
import type { BundleView } from '../../lib/bundles';
import { usePngUrl } from '../../lib/png';
import { waitForJob } from '../../store/jobs';
import { call } from '../../studio';

function Png({ png, alt, size = 84 }: { png: Uint8Array; alt: string; size?: number }) {
  const url = usePngUrl(png);
  return url ? <img src={url} alt={alt} width={size} height={size} className="pixelated" style={{ borderRadius: 4, background: '#0e0f12' }} /> : <div className="thumb" style={{ width: size, height: size }} />;
}

export function ReconstructPanel({ autoencoders, datasets, datasetId, model }: { autoencoders: BundleView[]; datasets: DatasetSummary[]; datasetId?: string; model?: string }) {
  const [ae, setAe] = useState(model ?? '');
  const [ds, setDs] = useState(datasetId ?? '');
  const [k, setK] = useState('');
  const [limit, setLimit] = useState(500);
  const [busy, setBusy] = useState(false);
  const [res, setRes] = useState<ReconstructResult | null>(null);
  const [err, setErr] = useState<ErrorData | null>(null);
  useEffect(() => {
    if (model) setAe(model);
  }, [model]);
  useEffect(() => {
    if (datasetId) setDs(datasetId);
  }, [datasetId]);
  const aeId = autoencoders.some((b) => b.id === ae) ? ae : (autoencoders[0]?.id ?? '');
  const dsId = datasets.some((d) => d.id === ds) ? ds : (datasets[0]?.id ?? '');
  const bundle = autoencoders.find((b) => b.id === aeId);

  const run = async () => {
    if (!aeId || !dsId) return;
    setBusy(true);
    setErr(null);
    try {
      const kk = Number(k);
      const r = await call('analysis.reconstruct', {
        datasetId: dsId,
        model: aeId,
        limit,
        fitLimit: 2000,
        examples: 6,
        ...(k.trim() && Number.isInteger(kk) && kk > 0 ? { k: kk } : {}),
      });
      setRes(r.result ?? (await waitForJob<ReconstructResult>(r.jobId!)));
    } catch (e) {
      setErr(toErrorData(e));
    } finally {
      setBusy(false);
    }
  };

  if (!autoencoders.length) {
    return <div className="muted small">Train or add an autoencoder bundle to compare its reconstructions with PCA.</div>;
  }
  const better = res ? (res.autoencoderMse < res.pcaMse ? 'encoder' : 'pca') : null;
  return (
    <div className="col" data-testid="reconstruct-panel">
      <div className="row">
        <select value={aeId} onChange={(e) => setAe(e.currentTarget.value)} aria-label="Autoencoder" data-testid="reconstruct-model" style={{ width: 200 }}>
          {autoencoders.map((b) => (
            <option key={b.id} value={b.id}>
              {b.name} (z {b.latentSize ?? '?'})
            </option>
          ))}
        </select>
        <select value={dsId} onChange={(e) => setDs(e.currentTarget.value)} aria-label="Dataset compared" data-testid="reconstruct-dataset" style={{ width: 200 }} disabled={!datasets.length}>
          {datasets.map((d) => (
            <option key={d.id} value={d.id}>
              {d.name}
            </option>
          ))}
        </select>
        <input
          type="number"
          min={1}
          value={k}
          placeholder={`k = ${bundle?.latentSize ?? 'latent size'}`}
          onChange={(e) => setK(e.currentTarget.value)}
          aria-label="PCA components (k)"
          data-testid="reconstruct-k"
          style={{ width: 120 }}
        />
        <select value={limit} onChange={(e) => setLimit(Number(e.currentTarget.value))} aria-label="Images compared" style={{ width: 130 }}>
          {[100, 500, 1000, 2000].map((n) => (
            <option key={n} value={n}>
              {n} images
            </option>
          ))}
        </select>
        <button type="button" className="btn small" disabled={busy || !dsId} onClick={() => void run()} data-testid="run-reconstruct">
          {busy ? 'Comparing…' : 'Compare'}
        </button>
      </div>
      {!datasets.length ? <div className="muted small">Import a dataset to compare reconstructions of its images.</div> : null}
      {err ? <ErrorInline title="Reconstruction" error={err} onDismiss={() => setErr(null)} /> : null}
      {res ? (
        <>
          <div className="row small" data-testid="reconstruct-mse">
            <span>
              PCA-{res.k} MSE <b style={{ color: better === 'pca' ? 'var(--ok, #5ccf9a)' : undefined }}>{res.pcaMse.toPrecision(3)}</b>
            </span>
            <span>
              autoencoder (z {res.latentSize ?? '?'}) MSE <b style={{ color: better === 'encoder' ? 'var(--ok, #5ccf9a)' : undefined }}>{res.autoencoderMse.toPrecision(3)}</b>
            </span>
            <span className="muted">
              {res.n} images of {res.description}; PCA fitted on {res.fit.on === 'train' ? `${res.fit.n} training images` : 'the same images'} ({res.fit.method})
              {res.pcaExplained !== undefined ? `, keeps ${(res.pcaExplained * 100).toFixed(1)}% of their variance` : ''}.
            </span>
          </div>
          {res.examples.length ? (
            <div className="row" data-testid="reconstruct-examples" style={{ flexWrap: 'wrap', gap: 12 }}>
              {res.examples.map((e) => (
                <figure key={e.index} className="col" style={{ margin: 0, alignItems: 'center', gap: 2 }}>
                  <div className="row" style={{ gap: 2 }}>
                    <Png png={e.original.png} alt={`image ${e.index}`} />
                    <Png png={e.pca.png} alt={`PCA-${res.k} of image ${e.index}`} />
                    <Png png={e.autoencoder.png} alt={`autoencoder of image ${e.index}`} />
                  </div>
                  <figcaption className="small muted">
                    #{e.index} · original | PCA {e.pcaMse.toPrecision(2)} | AE {e.autoencoderMse.toPrecision(2)}
                  </figcaption>
                </figure>
              ))}
            </div>
          ) : null}
        </>
      ) : (
        <div className="muted small">Reconstruct the same test images with PCA (k components, default the bottleneck size) and with the autoencoder.</div>
      )}
    </div>
  );
}
