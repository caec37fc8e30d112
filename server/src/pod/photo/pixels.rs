//! The pixel steps shared by photos and signatures: decoding within the limits, shrinking, and
//! flattening onto white.

use std::io::Cursor;

use fast_image_resize::{FilterType, ResizeAlg, ResizeError, ResizeOptions, Resizer};
use image::error::ImageError;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, RgbImage};

use super::{PhotoError, PhotoLimits};

/// Decodes within the limits, checking the header's dimensions before any pixel. The orientation comes from the
/// EXIF data; damaged EXIF counts as none, since the pixels may still be good.
pub(in crate::pod) fn decode(
    bytes: &[u8],
    format: ImageFormat,
    limits: &PhotoLimits,
) -> Result<(DynamicImage, Orientation), PhotoError> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut decoder_limits = Limits::default();
    decoder_limits.max_alloc = Some(limits.max_alloc);
    reader.limits(decoder_limits);
    let mut decoder = reader.into_decoder().map_err(unreadable)?;
    let (width, height) = decoder.dimensions();
    let too_many_pixels =
        PhotoError::TooManyPixels { width, height, max_side: limits.max_side, max_pixels: limits.max_pixels };
    if width.max(height) > limits.max_side || u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(too_many_pixels);
    }
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let image = DynamicImage::from_decoder(decoder).map_err(|error| match error {
        ImageError::Limits(_) => too_many_pixels,
        error => unreadable(error),
    })?;
    Ok((image, orientation))
}

fn unreadable(error: ImageError) -> PhotoError {
    PhotoError::Unreadable(error.to_string())
}

/// The image shrunk (never enlarged) so that its longest side is at most `side`. Catmull-Rom is as sharp as Lanczos3
/// to the eye at these ratios, and a third faster from 12 megapixels.
pub(in crate::pod) fn fit_within(image: DynamicImage, side: u32) -> Result<DynamicImage, ResizeError> {
    let (width, height) = (image.width(), image.height());
    let longest = width.max(height);
    if longest <= side {
        return Ok(image);
    }
    let scaled = |length: u32| {
        let rounded = (u64::from(length) * u64::from(side) + u64::from(longest) / 2) / u64::from(longest);
        u32::try_from(rounded).unwrap_or(side).max(1)
    };
    let mut resized = DynamicImage::new(scaled(width), scaled(height), image.color());
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::CatmullRom));
    Resizer::new().resize(&image, &mut resized, &options)?;
    Ok(resized)
}

/// Eight-bit RGB, any transparency laid over white: a transparent screenshot would otherwise turn black in a JPEG.
pub(in crate::pod) fn opaque_rgb(image: DynamicImage) -> RgbImage {
    if !image.color().has_alpha() {
        return image.into_rgb8();
    }
    let rgba = image.into_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [red, green, blue, alpha] = rgba.get_pixel(x, y).0;
        let over_white = |channel: u8| {
            let blended = (u16::from(channel) * u16::from(alpha) + 255 * (255 - u16::from(alpha)) + 127) / 255;
            u8::try_from(blended).unwrap_or(u8::MAX)
        };
        image::Rgb([over_white(red), over_white(green), over_white(blue)])
    })
}
