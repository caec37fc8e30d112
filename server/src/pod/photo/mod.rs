//! Proof photos as drivers upload them, made safe to store and serve: limits checked before any pixel is decoded,
//! the format sniffed from the bytes, the EXIF orientation applied, every piece of metadata dropped (GPS included;
//! colour profiles too, the pixels taken as sRGB), and a display image and a thumbnail re-encoded as JPEG.

use std::sync::Arc;

use bytes::Bytes;
use fast_image_resize::ResizeError;
use image::{DynamicImage, ImageFormat};
use todoke_shared::ProblemCode;
use tokio::sync::Semaphore;

mod jpeg;
mod pixels;

pub(super) use pixels::{decode, fit_within, opaque_rgb};

/// The longest side of the display image; smaller photos keep their size.
pub const DISPLAY_SIDE: u32 = 1600;
/// The longest side of the thumbnail.
pub const THUMBNAIL_SIDE: u32 = 320;
const DISPLAY_QUALITY: u8 = 82;
const THUMBNAIL_QUALITY: u8 = 75;

/// What an upload may cost. Everything is checked before decoding, from the size of the body and the dimensions
/// the header declares, so a small file that would decode to gigabytes (a decompression bomb) costs nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoLimits {
    /// The most bytes an upload may have.
    pub max_bytes: usize,
    /// The most pixels on either side.
    pub max_side: u32,
    /// The most pixels in all (width × height).
    pub max_pixels: u64,
    /// The most the decoder may allocate, in bytes.
    pub max_alloc: u64,
    /// Keep the upload's bytes untouched beside the re-encoded images. Off by default: the original keeps all its
    /// metadata, the phone's GPS position included, so it must never be served to customers.
    pub keep_original: bool,
}

impl Default for PhotoLimits {
    fn default() -> Self {
        PhotoLimits {
            max_bytes: 20 * 1024 * 1024,
            max_side: 12_000,
            max_pixels: 50_000_000,
            // A 50 MP photo with alpha decodes to 200 MB; 16-bit colour at that size is refused.
            max_alloc: 256 * 1024 * 1024,
            keep_original: false,
        }
    }
}

/// A photo ready to store: re-encoded pixels only, the right way up, without metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessedPhoto {
    /// JPEG, longest side at most [`DISPLAY_SIDE`].
    pub display: Vec<u8>,
    /// JPEG, longest side at most [`THUMBNAIL_SIDE`].
    pub thumbnail: Vec<u8>,
    /// The upload as it came, metadata and all, when [`PhotoLimits::keep_original`] is set.
    pub original: Option<Vec<u8>>,
    /// The display image's width.
    pub width: u32,
    /// The display image's height.
    pub height: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhotoError {
    #[error("The photo is {bytes} bytes; at most {max} are accepted. Send a smaller photo.")]
    TooLarge { bytes: usize, max: usize },
    #[error("The upload is {}; send the photo as JPEG, PNG or WebP.", .detected.unwrap_or("not an image we know"))]
    UnsupportedFormat { detected: Option<&'static str> },
    #[error(
        "The photo is {width}x{height} pixels; at most {max_side} on a side and {max_pixels} in all are accepted. \
         Send a smaller photo."
    )]
    TooManyPixels { width: u32, height: u32, max_side: u32, max_pixels: u64 },
    #[error("The photo cannot be read ({0}); it is damaged or was cut off on the way. Take or send it again.")]
    Unreadable(String),
}

impl PhotoError {
    /// A stable code for the API's problem documents.
    pub fn code(&self) -> ProblemCode {
        match self {
            PhotoError::TooLarge { .. } => ProblemCode::PhotoTooLarge,
            PhotoError::UnsupportedFormat { .. } => ProblemCode::UnsupportedPhotoFormat,
            PhotoError::TooManyPixels { .. } => ProblemCode::PhotoTooManyPixels,
            PhotoError::Unreadable(_) => ProblemCode::PhotoUnreadable,
        }
    }
}

/// Turns an upload into a display image and a thumbnail. Pure and CPU-bound (tens of milliseconds for a phone
/// photo): callers on the async runtime go through [`PhotoPipeline`].
pub fn process(bytes: &[u8], limits: &PhotoLimits) -> Result<ProcessedPhoto, PhotoError> {
    check_size(bytes.len(), limits.max_bytes)?;
    let format = sniff(bytes, &[ImageFormat::Jpeg, ImageFormat::Png, ImageFormat::WebP])?;
    if format == ImageFormat::Jpeg && !jpeg::reaches_end(bytes) {
        return Err(PhotoError::Unreadable("the JPEG data stops before its end marker".to_owned()));
    }
    let (decoded, orientation) = decode(bytes, format, limits)?;

    // Resizing first and turning the small image is far cheaper than turning 12 megapixels.
    let mut display = fit_within(decoded, DISPLAY_SIDE).map_err(resize_failed)?;
    display.apply_orientation(orientation);
    let display = opaque_rgb(display);
    let (width, height) = display.dimensions();
    let display_jpeg = jpeg::encode(&display, DISPLAY_QUALITY)?;
    let thumbnail = fit_within(DynamicImage::ImageRgb8(display), THUMBNAIL_SIDE).map_err(resize_failed)?.into_rgb8();
    Ok(ProcessedPhoto {
        display: display_jpeg,
        thumbnail: jpeg::encode(&thumbnail, THUMBNAIL_QUALITY)?,
        original: limits.keep_original.then(|| bytes.to_vec()),
        width,
        height,
    })
}

pub(super) fn check_size(bytes: usize, max: usize) -> Result<(), PhotoError> {
    if bytes > max { Err(PhotoError::TooLarge { bytes, max }) } else { Ok(()) }
}

/// The format the bytes themselves show, whatever the file name or content type claimed.
pub(super) fn sniff(bytes: &[u8], accepted: &[ImageFormat]) -> Result<ImageFormat, PhotoError> {
    match image::guess_format(bytes) {
        Ok(format) if accepted.contains(&format) => Ok(format),
        Ok(format) => Err(PhotoError::UnsupportedFormat { detected: Some(format.to_mime_type()) }),
        Err(_) => Err(PhotoError::UnsupportedFormat { detected: None }),
    }
}

fn resize_failed(error: ResizeError) -> PhotoError {
    PhotoError::Unreadable(format!("resizing failed: {error}"))
}

/// Runs [`process`] off the async runtime, at most `concurrency` photos at once: each decode holds a core and up to
/// [`PhotoLimits::max_alloc`] of memory, so a burst of uploads queues instead of exhausting the machine.
#[derive(Debug, Clone)]
pub struct PhotoPipeline {
    limits: Arc<PhotoLimits>,
    permits: Arc<Semaphore>,
}

impl Default for PhotoPipeline {
    /// Default limits, one photo at a time per core.
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        PhotoPipeline::new(PhotoLimits::default(), cores)
    }
}

impl PhotoPipeline {
    pub fn new(limits: PhotoLimits, concurrency: usize) -> Self {
        PhotoPipeline { limits: Arc::new(limits), permits: Arc::new(Semaphore::new(concurrency.max(1))) }
    }

    pub fn limits(&self) -> &PhotoLimits {
        &self.limits
    }

    pub async fn process(&self, bytes: Bytes) -> Result<ProcessedPhoto, PhotoError> {
        // Refused before queueing: an oversized body should not wait for a permit.
        check_size(bytes.len(), self.limits.max_bytes)?;
        let permit = Arc::clone(&self.permits).acquire_owned().await.expect("the photo semaphore is never closed");
        let limits = Arc::clone(&self.limits);
        // The permit moves into the task: a client that hangs up does not free the core its photo still occupies.
        let task = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            process(&bytes, &limits)
        });
        task.await.unwrap_or_else(|error| {
            // A decoder panicking on hostile input is a bad photo, not a server failure.
            tracing::error!(%error, "processing a photo failed");
            Err(PhotoError::Unreadable("the photo could not be decoded".to_owned()))
        })
    }
}

#[cfg(test)]
pub(super) mod tests {
    use image::metadata::Orientation;
    use image::{GenericImageView, ImageEncoder, RgbImage};

    use super::*;

    /// The shared fixtures live beside the repository: `TODOKE_FIXTURES`, else `../shared/fixtures`.
    fn fixtures_root() -> String {
        std::env::var("TODOKE_FIXTURES")
            .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/fixtures").to_string())
    }

    /// Whether the fixtures are there; a clone without them skips these tests and says so, except in CI.
    pub(in crate::pod) fn have_fixtures() -> bool {
        let present = std::path::Path::new(&fixtures_root()).join("photos").is_dir();
        assert!(present || std::env::var_os("CI").is_none(), "CI needs the shared fixtures (TODOKE_FIXTURES)");
        if !present {
            eprintln!("skipped: the shared fixtures are not at {} (set TODOKE_FIXTURES)", fixtures_root());
        }
        present
    }

    pub(in crate::pod) fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/photos/{name}", fixtures_root());
        std::fs::read(&path).unwrap_or_else(|error| panic!("reading {path} (set TODOKE_FIXTURES): {error}"))
    }

    fn processed(name: &str) -> ProcessedPhoto {
        process(&fixture(name), &PhotoLimits::default()).unwrap_or_else(|error| panic!("{name}: {error}"))
    }

    fn decoded(jpeg: &[u8]) -> DynamicImage {
        image::load_from_memory_with_format(jpeg, ImageFormat::Jpeg).expect("our own output decodes")
    }

    fn longest_side(jpeg: &[u8]) -> u32 {
        let (width, height) = decoded(jpeg).dimensions();
        width.max(height)
    }

    /// Mean absolute difference per channel, 0 to 255.
    fn difference(a: &DynamicImage, b: &DynamicImage) -> f64 {
        assert_eq!(a.dimensions(), b.dimensions());
        let (a, b) = (a.to_rgb8(), b.to_rgb8());
        let total: u64 = a.as_raw().iter().zip(b.as_raw()).map(|(x, y)| u64::from(x.abs_diff(*y))).sum();
        total as f64 / a.as_raw().len() as f64
    }

    #[test]
    fn every_orientation_comes_out_the_right_way_up() {
        if !have_fixtures() {
            return;
        }
        for (set, landscape) in [("Landscape", true), ("Portrait", false)] {
            let upright = decoded(&processed(&format!("{set}_0.jpg")).thumbnail);
            for orientation in [1, 3, 6, 8] {
                let name = format!("{set}_{orientation}.jpg");
                let photo = processed(&name);
                assert_eq!(photo.width > photo.height, landscape, "{name}: {}x{}", photo.width, photo.height);
                let thumbnail = decoded(&photo.thumbnail);
                let off_by = difference(&upright, &thumbnail);
                assert!(off_by < 3.0, "{name} differs from {set}_0 by {off_by:.1} a channel");
            }
            // The check can tell: the same photo upside down is far off.
            let mut upside_down = upright.clone();
            upside_down.apply_orientation(Orientation::Rotate180);
            assert!(difference(&upright, &upside_down) > 20.0);
        }
    }

    /// The markers of the segments before the image data.
    fn header_markers(jpeg: &[u8]) -> Vec<u8> {
        let mut markers = Vec::new();
        let mut position = 2;
        while let [0xFF, marker, high, low, ..] = jpeg[position..] {
            markers.push(marker);
            if marker == 0xDA {
                break;
            }
            position += 2 + usize::from(u16::from_be_bytes([high, low]));
        }
        markers
    }

    #[test]
    fn gps_and_all_other_metadata_are_dropped() {
        if !have_fixtures() {
            return;
        }
        let upload = fixture("iphone_hdr_NO.jpg");
        assert!(upload.windows(6).any(|w| w == b"Exif\0\0"));
        assert!(upload.windows(2).any(|w| w == [0x88, 0x25]), "the upload has a GPS IFD");
        let photo = processed("iphone_hdr_NO.jpg");
        for jpeg in [&photo.display, &photo.thumbnail] {
            assert!(!jpeg.windows(6).any(|w| w == b"Exif\0\0"));
            assert!(!jpeg.windows(3).any(|w| w == b"GPS"));
            let markers = header_markers(jpeg);
            assert_eq!(markers.last(), Some(&0xDA));
            // Only JFIF's APP0: no EXIF or XMP (APP1), ICC (APP2), or comment.
            assert!(markers.iter().all(|&m| m == 0xE0 || !(0xE1..=0xEF).contains(&m) && m != 0xFE), "{markers:x?}");
        }
        assert_eq!(photo.original, None);
    }

    #[test]
    fn display_and_thumbnail_fit_their_sizes() {
        if !have_fixtures() {
            return;
        }
        let photo = processed("jolla.jpg");
        assert_eq!((photo.width, photo.height), (1600, 1200));
        assert_eq!(decoded(&photo.display).dimensions(), (1600, 1200));
        assert_eq!(decoded(&photo.thumbnail).dimensions(), (320, 240));
    }

    #[test]
    fn a_small_photo_is_not_enlarged() {
        if !have_fixtures() {
            return;
        }
        let photo = processed("DSCN0010.jpg");
        assert_eq!((photo.width, photo.height), (640, 480));
        assert_eq!(longest_side(&photo.display), 640);
        assert_eq!(longest_side(&photo.thumbnail), THUMBNAIL_SIDE);
    }

    #[test]
    fn the_original_is_kept_only_when_asked() {
        if !have_fixtures() {
            return;
        }
        let upload = fixture("DSCN0010.jpg");
        let limits = PhotoLimits { keep_original: true, ..PhotoLimits::default() };
        let photo = process(&upload, &limits).expect("a good photo");
        assert_eq!(photo.original, Some(upload));
    }

    #[test]
    fn a_decompression_bomb_is_refused_from_its_header() {
        if !have_fixtures() {
            return;
        }
        let result = process(&fixture("bomb_20000x20000.png"), &PhotoLimits::default());
        let Err(PhotoError::TooManyPixels { width: 20_000, height: 20_000, .. }) = result else {
            panic!("expected TooManyPixels, got {result:?}");
        };
    }

    #[test]
    fn limits_are_checked_before_decoding() {
        if !have_fixtures() {
            return;
        }
        let upload = fixture("DSCN0010.jpg");
        let small = PhotoLimits { max_bytes: 1000, ..PhotoLimits::default() };
        let result = process(&upload, &small);
        assert!(matches!(result, Err(PhotoError::TooLarge { max: 1000, .. })), "{result:?}");
        let few_pixels = PhotoLimits { max_pixels: 300_000, ..PhotoLimits::default() };
        let result = process(&upload, &few_pixels);
        assert!(matches!(result, Err(PhotoError::TooManyPixels { width: 640, height: 480, .. })), "{result:?}");
        let narrow = PhotoLimits { max_side: 600, ..PhotoLimits::default() };
        assert!(matches!(process(&upload, &narrow), Err(PhotoError::TooManyPixels { .. })));
    }

    #[test]
    fn a_truncated_photo_is_refused() {
        if !have_fixtures() {
            return;
        }
        let result = process(&fixture("truncated.jpg"), &PhotoLimits::default());
        let Err(error @ PhotoError::Unreadable(_)) = result else { panic!("expected Unreadable, got {result:?}") };
        assert_eq!(error.code().as_str(), "photo_unreadable");
    }

    #[test]
    fn damaged_metadata_is_dropped_and_the_photo_kept() {
        if !have_fixtures() {
            return;
        }
        let photo = processed("corrupted.jpg");
        assert_eq!((photo.width, photo.height), (1600, 1200));
    }

    #[test]
    fn png_and_webp_are_accepted() {
        let pixels = RgbImage::from_fn(64, 48, |x, y| image::Rgb([(x * 4) as u8, (y * 5) as u8, 128]));
        let mut png = Vec::new();
        image::codecs::png::PngEncoder::new(&mut png)
            .write_image(pixels.as_raw(), 64, 48, image::ExtendedColorType::Rgb8)
            .expect("encoding a PNG");
        let mut webp = Vec::new();
        image::codecs::webp::WebPEncoder::new_lossless(&mut webp)
            .write_image(pixels.as_raw(), 64, 48, image::ExtendedColorType::Rgb8)
            .expect("encoding a WebP");
        for upload in [png, webp] {
            let photo = process(&upload, &PhotoLimits::default()).expect("accepted");
            assert_eq!((photo.width, photo.height), (64, 48));
            let expected = DynamicImage::ImageRgb8(pixels.clone());
            assert!(difference(&decoded(&photo.display), &expected) < 4.0, "JPEG loses only a little");
        }
    }

    #[test]
    fn transparency_is_laid_over_white() {
        let clear = image::RgbaImage::from_pixel(8, 8, image::Rgba([0, 0, 0, 0]));
        let mut png = Vec::new();
        image::codecs::png::PngEncoder::new(&mut png)
            .write_image(clear.as_raw(), 8, 8, image::ExtendedColorType::Rgba8)
            .expect("encoding a PNG");
        let photo = process(&png, &PhotoLimits::default()).expect("accepted");
        assert!(decoded(&photo.display).to_rgb8().pixels().all(|pixel| pixel.0.iter().all(|&c| c > 250)));
    }

    #[test]
    fn a_cut_off_png_is_refused() {
        let pixels = RgbImage::from_fn(64, 64, |x, y| image::Rgb([(x * y) as u8, x as u8, y as u8]));
        let mut png = Vec::new();
        image::codecs::png::PngEncoder::new(&mut png)
            .write_image(pixels.as_raw(), 64, 64, image::ExtendedColorType::Rgb8)
            .expect("encoding a PNG");
        png.truncate(png.len() / 2);
        let result = process(&png, &PhotoLimits::default());
        assert!(matches!(result, Err(PhotoError::Unreadable(_))), "{result:?}");
    }

    #[test]
    fn other_formats_and_random_bytes_are_refused() {
        let random: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let result = process(&random, &PhotoLimits::default());
        assert_eq!(result, Err(PhotoError::UnsupportedFormat { detected: None }));
        assert_eq!(PhotoError::UnsupportedFormat { detected: None }.code().as_str(), "unsupported_photo_format");
        let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;";
        let result = process(gif, &PhotoLimits::default());
        assert_eq!(result, Err(PhotoError::UnsupportedFormat { detected: Some("image/gif") }));
        assert!(result.is_err_and(|error| error.to_string().contains("JPEG, PNG or WebP")));
    }

    #[tokio::test]
    async fn the_pipeline_processes_off_the_runtime() {
        if !have_fixtures() {
            return;
        }
        let pipeline = PhotoPipeline::new(PhotoLimits::default(), 1);
        let photo = pipeline.process(Bytes::from(fixture("DSCN0010.jpg"))).await.expect("a good photo");
        assert_eq!((photo.width, photo.height), (640, 480));
        let result = pipeline.process(Bytes::from(fixture("truncated.jpg"))).await;
        assert!(matches!(result, Err(PhotoError::Unreadable(_))));
        let small = PhotoPipeline::new(PhotoLimits { max_bytes: 10, ..PhotoLimits::default() }, 1);
        assert!(matches!(small.process(Bytes::from_static(&[0; 11])).await, Err(PhotoError::TooLarge { .. })));
    }
}
