/** gallery.list / thumb / get / add / delete (engine/gallery/store). */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { handlers } from '../host/context';
import { addToGallery, galleryDelete, galleryGet, galleryThumb, listGallery } from '../gallery/store';

export const galleryHandlers = handlers({
  'gallery.list': (req, ctx) => listGallery(ctx.workspace, req),
  'gallery.thumb': (req, ctx) => galleryThumb(ctx.workspace, req.id, req.size),
  'gallery.get': (req, ctx) => galleryGet(ctx.workspace, req.id),
  'gallery.add': async (req, ctx) => {
    const png = req.image ?? new Uint8Array(await fsp.readFile(path.resolve(req.path!)));
    return addToGallery(ctx.workspace, png, req.name ?? (req.path ? path.basename(req.path) : undefined));
  },
  'gallery.delete': (req, ctx) => galleryDelete(ctx.workspace, req.id),
});
