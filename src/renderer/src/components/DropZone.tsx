/**
 * A drop target for files and folders (native drag events; folders walked with
 * webkitGetAsEntry so relative paths survive) that also offers hidden file inputs, so the same
 * zone works from a "Browse" button, the keyboard and tests (setInputFiles).
 */
import { useRef, useState, type ReactNode } from 'react';
import { filesFromDataTransfer, filesFromList, type DroppedFiles } from '../lib/files';
import { reportError } from '../store/ui';

export function hasFiles(e: React.DragEvent): boolean {
  return Array.from(e.dataTransfer?.types ?? []).includes('Files');
}

export function DropZone({
  onFiles,
  children,
  className,
  testId,
  accept = 'image/*',
  multiple = true,
  folders = true,
  label = 'Browse files',
  disabled,
}: {
  onFiles(d: DroppedFiles): void | Promise<void>;
  children?: ReactNode;
  className?: string;
  testId: string;
  accept?: string;
  multiple?: boolean;
  folders?: boolean;
  label?: string;
  disabled?: boolean;
}) {
  const [over, setOver] = useState(false);
  const depth = useRef(0);
  const fileInput = useRef<HTMLInputElement>(null);
  const dirInput = useRef<HTMLInputElement>(null);

  const deliver = async (d: DroppedFiles) => {
    if (!d.files.length) return;
    try {
      await onFiles(d);
    } catch (e) {
      reportError('Dropped files', e);
    }
  };

  return (
    <div
      className={`dropzone ${over ? 'over' : ''} ${className ?? ''}`}
      data-testid={testId}
      onDragEnter={(e) => {
        if (!hasFiles(e) || disabled) return;
        e.preventDefault();
        e.stopPropagation();
        depth.current++;
        setOver(true);
      }}
      onDragOver={(e) => {
        if (!hasFiles(e) || disabled) return;
        e.preventDefault();
        e.stopPropagation();
        e.dataTransfer.dropEffect = 'copy';
      }}
      onDragLeave={(e) => {
        if (!hasFiles(e)) return;
        e.stopPropagation();
        depth.current = Math.max(0, depth.current - 1);
        if (!depth.current) setOver(false);
      }}
      onDrop={(e) => {
        if (disabled) return;
        e.preventDefault();
        e.stopPropagation();
        depth.current = 0;
        setOver(false);
        const dt = e.dataTransfer;
        void filesFromDataTransfer(dt).then(deliver, (err: unknown) => reportError('Reading dropped files', err));
      }}
    >
      {children}
      <div className="dropzone-actions">
        <button type="button" className="btn ghost small" disabled={disabled} onClick={() => fileInput.current?.click()}>
          {label}
        </button>
        {folders ? (
          <button type="button" className="btn ghost small" disabled={disabled} onClick={() => dirInput.current?.click()}>
            Browse folder
          </button>
        ) : null}
      </div>
      <input
        ref={fileInput}
        type="file"
        hidden
        multiple={multiple}
        accept={accept}
        data-testid={`${testId}-input`}
        onChange={(e) => {
          const d = filesFromList(e.currentTarget.files);
          e.currentTarget.value = '';
          void deliver(d);
        }}
      />
      {folders ? (
        <input
          ref={dirInput}
          type="file"
          hidden
          multiple
          data-testid={`${testId}-folder-input`}
          {...({ webkitdirectory: '' } as Record<string, string>)}
          onChange={(e) => {
            const d = filesFromList(e.currentTarget.files);
            e.currentTarget.value = '';
            void deliver(d);
          }}
        />
      ) : null}
    </div>
  );
}
