import { Type } from 'typebox';

/**
 * The derivative URL grammar, for the OpenAPI document. Values are validated by variant-spec.ts,
 * not here, so every refusal carries our message naming the allowed range.
 */
export const DERIVATIVE_DOC =
  ' **Derivatives** (images): `/images/{id}?width=…&height=…&fit=…&format=…&quality=…&dpr=…&preset=…` answers 303 to the canonical derivative URL `/images/{id}.{ext}?width=…&height=…&fit=…&quality=…&enlarge=true[&sig=…]` (fixed order, defaults left out, dpr and preset folded in), which is computed once, cached, and served like an original. `format=auto` negotiates AVIF/WebP from Accept (`Vary: Accept`). HEIC and BMP are store-only (400 NOT_TRANSFORMABLE).';

export const DerivativeQuerySchema = Type.Object(
  {
    width: Type.Optional(Type.String({ description: 'Width in CSS pixels: 1 to AMS_DERIVATIVE_MAX_DIMENSION (4096).' })),
    height: Type.Optional(Type.String({ description: 'Height in CSS pixels: 1 to AMS_DERIVATIVE_MAX_DIMENSION.' })),
    fit: Type.Optional(
      Type.String({
        description: 'With both width and height: cover (default, crops), contain (letterbox), inside, outside, fill (stretches).',
      }),
    ),
    format: Type.Optional(
      Type.String({
        description:
          'jpeg, png, webp, avif, or auto (AVIF, then WebP, then the original format, from Accept; the 303 then varies on Accept). Default: the original format (JPEG for TIFF). On `{id}.{ext}` the extension is the format.',
      }),
    ),
    quality: Type.Optional(Type.String({ description: '1 to 100 (JPEG/WebP default 80, AVIF 50; ignored for PNG/GIF).' })),
    dpr: Type.Optional(Type.String({ description: 'Device pixel ratio 1 to 4; multiplies width and height, then is folded into them.' })),
    preset: Type.Optional(Type.String({ description: 'A named set of these parameters (AMS_DERIVATIVE_PRESETS: thumb, card, zoom); explicit parameters override it.' })),
    enlarge: Type.Optional(Type.String({ description: 'true to allow upscaling past the source size (default: never upscale).' })),
    sig: Type.Optional(Type.String({ description: 'HMAC signature, required when AMS_SIGNING_KEYS is set (see `ams sign-url`).' })),
  },
  {
    description:
      '`/images/{id}?…` answers 303 to the canonical derivative URL `/images/{id}.{ext}?width=…&height=…&fit=…&quality=…&enlarge=true[&sig=…]` (fixed order, defaults left out), served like an original.',
  },
);
