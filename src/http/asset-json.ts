import { Type, type Static } from 'typebox';
import type { AssetRecord } from '../meta/repository.js';

/** Optional fields added after the published ones; clients that know only the published contract ignore them. */
const PlaceholderFields = {
  thumbhash: Type.Optional(
    Type.String({ description: 'Images: a ThumbHash (base64) of the picture, for a blurred placeholder while it loads.' }),
  ),
  dominantColor: Type.Optional(Type.String({ pattern: '^#[0-9a-f]{6}$', description: 'Images: the dominant colour, `#rrggbb` (sRGB).' })),
  durationMs: Type.Optional(Type.Integer({ description: 'Videos: duration in milliseconds.' })),
};

/** The published asset object, in the published field order. */
const PublishedFields = {
    id: Type.String({ format: 'uuid', description: 'Asset id (a GUID).' }),
    name: Type.String({ description: "The uploaded file's own name, made safe; `{id}.{ext}` when it had none." }),
    height: Type.Integer({ description: 'Displayed height in pixels (EXIF orientation / video rotation applied).' }),
    width: Type.Integer({ description: 'Displayed width in pixels.' }),
    href: Type.String({ format: 'uri', description: 'Absolute URL of the stored file.' }),
    md5Checksum: Type.String({ pattern: '^[0-9a-f]{32}$', description: 'MD5 of the exact uploaded bytes, lowercase hex.' }),
    mimeType: Type.String({ description: "Media type detected from the file's content." }),
};

export const AssetSchema = Type.Object({ ...PublishedFields, ...PlaceholderFields }, { $id: 'Asset' });

export const UploadResultSchema = Type.Object(
  { ...PublishedFields, success: Type.Literal(true), ...PlaceholderFields },
  { $id: 'UploadResult' },
);

export const ErrorSchema = Type.Object(
  {
    statusCode: Type.Integer(),
    error: Type.String(),
    code: Type.String(),
    message: Type.String({ description: 'What went wrong and what to do about it.' }),
  },
  { $id: 'Error' },
);

export type AssetJson = Static<typeof AssetSchema>;

export function fileUrl(publicUrl: string, asset: Pick<AssetRecord, 'id' | 'kind' | 'ext'>): string {
  return `${publicUrl}/${asset.kind === 'image' ? 'images' : 'videos'}/${asset.id}.${asset.ext}`;
}

export function toAssetJson(asset: AssetRecord, publicUrl: string): AssetJson {
  return {
    id: asset.id,
    name: asset.name,
    height: asset.height,
    width: asset.width,
    href: fileUrl(publicUrl, asset),
    md5Checksum: asset.md5,
    mimeType: asset.mimeType,
    ...(asset.thumbhash === undefined ? {} : { thumbhash: asset.thumbhash }),
    ...(asset.dominantColor === undefined ? {} : { dominantColor: asset.dominantColor }),
    ...(asset.durationMs === null ? {} : { durationMs: asset.durationMs }),
  };
}
