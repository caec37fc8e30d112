//! Signatures as stored PNGs: drawn from the pad's strokes, or an uploaded PNG decoded and encoded again so that
//! nothing but its pixels is kept.

use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder, ImageFormat};
use tiny_skia::{Color, FillRule, LineCap, LineJoin, Paint, PathBuilder, Pixmap, Stroke, Transform};
use todoke_shared::ValidationErrors;
use todoke_shared::pod::SignatureStrokes;

use super::photo::{self, PhotoError, PhotoLimits};
use todoke_shared::ProblemCode;

/// The longest side of a stored signature.
pub const SIGNATURE_SIDE: u32 = 800;
/// The most bytes an uploaded signature PNG may have.
pub const MAX_UPLOAD_BYTES: usize = 2 * 1024 * 1024;
/// The most pixels on either side of an uploaded signature PNG.
pub const MAX_UPLOAD_SIDE: u32 = 4096;
/// The pen's width in the pad's own pixels, as signature pads draw it.
const PEN_WIDTH: f32 = 2.5;
/// Thinner than this, a heavily scaled-down signature turns faint.
const MIN_PEN_WIDTH: f32 = 1.5;
/// Near-black ink; grey, so the PNG can be stored as one channel.
const INK: u8 = 0x1A;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SignatureError {
    #[error("The signature's strokes are not valid: {0}")]
    Invalid(ValidationErrors),
    #[error("The signature must be a PNG image; the upload is {}.", .detected.unwrap_or("not an image"))]
    NotPng { detected: Option<&'static str> },
    #[error("The signature is {bytes} bytes; at most {max} are accepted. Send a smaller image.")]
    TooLarge { bytes: usize, max: usize },
    #[error("The signature is {width}x{height} pixels; at most {max_side} on a side are accepted.")]
    TooManyPixels { width: u32, height: u32, max_side: u32 },
    #[error("The signature cannot be read ({0}); capture or send it again.")]
    Unreadable(String),
}

impl SignatureError {
    /// A stable code for the API's problem documents.
    pub fn code(&self) -> ProblemCode {
        match self {
            SignatureError::Invalid(_) => ProblemCode::SignatureInvalid,
            SignatureError::NotPng { .. } => ProblemCode::SignatureNotPng,
            SignatureError::TooLarge { .. } => ProblemCode::SignatureTooLarge,
            SignatureError::TooManyPixels { .. } => ProblemCode::SignatureTooManyPixels,
            SignatureError::Unreadable(_) => ProblemCode::SignatureUnreadable,
        }
    }
}

impl From<PhotoError> for SignatureError {
    fn from(error: PhotoError) -> Self {
        match error {
            PhotoError::TooLarge { bytes, max } => SignatureError::TooLarge { bytes, max },
            PhotoError::UnsupportedFormat { detected } => SignatureError::NotPng { detected },
            PhotoError::TooManyPixels { width, height, max_side, .. } => {
                SignatureError::TooManyPixels { width, height, max_side }
            }
            PhotoError::Unreadable(reason) => SignatureError::Unreadable(reason),
        }
    }
}

/// Draws the strokes as dark, anti-aliased lines with round ends on white, scaled so that the longest side is at
/// most [`SIGNATURE_SIDE`], and encodes a greyscale PNG.
pub fn render(strokes: &SignatureStrokes) -> Result<Vec<u8>, SignatureError> {
    strokes.validate().map_err(SignatureError::Invalid)?;
    let scale = (SIGNATURE_SIDE as f32 / strokes.width.max(strokes.height) as f32).min(1.0);
    let scaled_side = |side: u32| ((side as f32 * scale).round() as u32).max(1);
    let (width, height) = (scaled_side(strokes.width), scaled_side(strokes.height));
    let mut canvas = Pixmap::new(width, height)
        .ok_or_else(|| SignatureError::Unreadable(format!("no canvas of {width}x{height} pixels")))?;
    canvas.fill(Color::WHITE);

    let mut paint = Paint::default();
    paint.set_color_rgba8(INK, INK, INK, 255);
    paint.anti_alias = true;
    let pen = (PEN_WIDTH * scale).max(MIN_PEN_WIDTH);
    let stroke = Stroke { width: pen, line_cap: LineCap::Round, line_join: LineJoin::Round, ..Stroke::default() };
    for points in &strokes.strokes {
        let mut scaled = points.iter().map(|[x, y]| (x * scale, y * scale));
        let Some((x, y)) = scaled.next() else { continue };
        if points.len() == 1 {
            // A tap is a dot: a path of one point has no length to stroke.
            if let Some(dot) = PathBuilder::from_circle(x, y, pen / 2.0) {
                canvas.fill_path(&dot, &paint, FillRule::Winding, Transform::identity(), None);
            }
            continue;
        }
        let mut path = PathBuilder::new();
        path.move_to(x, y);
        scaled.for_each(|(x, y)| path.line_to(x, y));
        if let Some(path) = path.finish() {
            canvas.stroke_path(&path, &paint, &stroke, Transform::identity(), None);
        }
    }

    // Every pixel is opaque grey, so one channel of the premultiplied RGBA holds it all.
    let grey: Vec<u8> = canvas.pixels().iter().map(|pixel| pixel.red()).collect();
    encode_png(&grey, width, height, ExtendedColorType::L8)
}

/// A signature uploaded as a PNG: checked (a PNG by its bytes, at most [`MAX_UPLOAD_BYTES`] and
/// [`MAX_UPLOAD_SIDE`] pixels a side, before decoding), decoded, laid over white, shrunk to at most
/// [`SIGNATURE_SIDE`], and encoded again, which drops every text chunk and all other metadata.
pub fn normalise_png(bytes: &[u8]) -> Result<Vec<u8>, SignatureError> {
    let side = u64::from(MAX_UPLOAD_SIDE);
    let limits = PhotoLimits {
        max_bytes: MAX_UPLOAD_BYTES,
        max_side: MAX_UPLOAD_SIDE,
        max_pixels: side * side,
        // 16-bit RGBA at the largest size.
        max_alloc: side * side * 8,
        keep_original: false,
    };
    photo::check_size(bytes.len(), limits.max_bytes)?;
    let format = photo::sniff(bytes, &[ImageFormat::Png])?;
    let (decoded, _) = photo::decode(bytes, format, &limits)?;
    let resized = photo::fit_within(decoded, SIGNATURE_SIDE)
        .map_err(|error| SignatureError::Unreadable(format!("resizing failed: {error}")))?;
    let rgb = photo::opaque_rgb(resized);
    encode_png(rgb.as_raw(), rgb.width(), rgb.height(), ExtendedColorType::Rgb8)
}

fn encode_png(pixels: &[u8], width: u32, height: u32, color: ExtendedColorType) -> Result<Vec<u8>, SignatureError> {
    let mut png = Vec::new();
    PngEncoder::new(&mut png)
        .write_image(pixels, width, height, color)
        .map_err(|error| SignatureError::Unreadable(format!("encoding failed: {error}")))?;
    Ok(png)
}

#[cfg(test)]
mod tests {
    use image::{DynamicImage, GenericImageView, GrayImage, RgbImage};

    use super::*;

    fn pad(width: u32, height: u32, strokes: Vec<Vec<[f32; 2]>>) -> SignatureStrokes {
        SignatureStrokes { width, height, strokes }
    }

    fn decoded(png: &[u8]) -> DynamicImage {
        image::load_from_memory_with_format(png, ImageFormat::Png).expect("our own PNG decodes")
    }

    fn brightness(image: &DynamicImage, x: u32, y: u32) -> u8 {
        image.to_luma8().get_pixel(x, y).0[0]
    }

    fn png_of(image: &RgbImage) -> Vec<u8> {
        encode_png(image.as_raw(), image.width(), image.height(), ExtendedColorType::Rgb8).expect("encoding a PNG")
    }

    #[test]
    fn strokes_are_drawn_dark_on_white() {
        let strokes = pad(400, 200, vec![vec![[50.0, 100.0], [200.0, 100.0], [350.0, 100.0]], vec![[200.0, 40.0]]]);
        let signature = decoded(&render(&strokes).expect("rendered"));
        assert_eq!(signature.dimensions(), (400, 200));
        for x in [60, 200, 340] {
            assert!(brightness(&signature, x, 100) < 60, "ink along the stroke at x = {x}");
        }
        assert!(brightness(&signature, 200, 40) < 128, "a tap leaves a dot");
        for (x, y) in [(10, 10), (200, 150), (380, 100), (200, 104)] {
            assert_eq!(brightness(&signature, x, y), 255, "background at ({x}, {y})");
        }
    }

    #[test]
    fn a_large_pad_is_scaled_down_and_stays_legible() {
        let strokes = pad(4000, 2000, vec![vec![[0.0, 1000.0], [4000.0, 1000.0]]]);
        let signature = decoded(&render(&strokes).expect("rendered"));
        assert_eq!(signature.dimensions(), (SIGNATURE_SIDE, 400));
        assert!(brightness(&signature, 400, 200) < 128, "the pen keeps a visible width");
    }

    #[test]
    fn invalid_strokes_are_refused() {
        let result = render(&pad(400, 200, vec![vec![[500.0, 10.0], [10.0, 10.0]]]));
        assert!(matches!(result, Err(SignatureError::Invalid(_))), "{result:?}");
        assert_eq!(render(&pad(400, 200, Vec::new())).map_err(|e| e.code().as_str()), Err("signature_invalid"));
    }

    #[test]
    fn an_uploaded_png_is_encoded_again_without_its_text() {
        let pixels = GrayImage::from_fn(1000, 300, |x, _| image::Luma([if x % 100 < 5 { 0 } else { 255 }]));
        let mut upload = Vec::new();
        let mut encoder = png::Encoder::new(&mut upload, 1000, 300);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.add_text_chunk("Comment".to_owned(), "taken at 35.6812,139.7671".to_owned()).expect("a text chunk");
        let mut writer = encoder.write_header().expect("a PNG header");
        writer.write_image_data(pixels.as_raw()).expect("PNG data");
        writer.finish().expect("a finished PNG");
        assert!(upload.windows(4).any(|w| w == b"tEXt"));

        let stored = normalise_png(&upload).expect("accepted");
        assert!(!stored.windows(4).any(|w| w == b"tEXt") && !stored.windows(6).any(|w| w == b"139.76"));
        assert_eq!(decoded(&stored).dimensions(), (SIGNATURE_SIDE, 240));
    }

    #[test]
    fn a_transparent_signature_is_laid_over_white() {
        let mut upload = Vec::new();
        let clear = image::RgbaImage::from_pixel(20, 10, image::Rgba([0, 0, 0, 0]));
        PngEncoder::new(&mut upload)
            .write_image(clear.as_raw(), 20, 10, ExtendedColorType::Rgba8)
            .expect("encoding a PNG");
        let stored = decoded(&normalise_png(&upload).expect("accepted"));
        assert_eq!(brightness(&stored, 5, 5), 255);
    }

    #[test]
    fn anything_but_a_modest_png_is_refused() {
        if !crate::pod::photo::tests::have_fixtures() {
            return;
        }
        let jpeg = crate::pod::photo::tests::fixture("DSCN0010.jpg");
        let result = normalise_png(&jpeg);
        assert_eq!(result, Err(SignatureError::NotPng { detected: Some("image/jpeg") }));

        let wide = png_of(&RgbImage::new(MAX_UPLOAD_SIDE + 1, 1));
        let result = normalise_png(&wide);
        assert!(matches!(result, Err(SignatureError::TooManyPixels { width: 4097, height: 1, .. })), "{result:?}");

        let mut heavy = png_of(&RgbImage::new(10, 10));
        heavy.resize(MAX_UPLOAD_BYTES + 1, 0);
        let result = normalise_png(&heavy);
        assert!(matches!(result, Err(SignatureError::TooLarge { .. })), "{result:?}");

        let mut cut = png_of(&RgbImage::from_fn(64, 64, |x, y| image::Rgb([x as u8, y as u8, 0])));
        cut.truncate(cut.len() / 2);
        assert_eq!(normalise_png(&cut).map_err(|e| e.code().as_str()), Err("signature_unreadable"));
    }
}
