//! The JPEG bytes themselves: whether an upload's data reaches its end marker, and how the stored
//! images are written (without any metadata segment).

use image::RgbImage;

use super::PhotoError;

/// Whether the JPEG's entropy-coded data is followed by its end-of-image marker. The JPEG decoder fills a cut-off
/// scan with grey rather than failing (which is what lets it read photos with damaged blocks), so without this a
/// truncated upload would be stored as half a photo.
pub(super) fn reaches_end(bytes: &[u8]) -> bool {
    first_scan_start(bytes)
        .and_then(|start| bytes.get(start..))
        .is_some_and(|scans| scans.windows(2).rev().any(|pair| pair == [0xFF, 0xD9]))
}

/// Where the first scan's data starts, found by walking the marker segments by their lengths: an EXIF thumbnail
/// inside APP1 carries its own scan and end marker, so searching the bytes from the start would be fooled.
fn first_scan_start(bytes: &[u8]) -> Option<usize> {
    let mut position = 2;
    loop {
        if *bytes.get(position)? != 0xFF {
            return None;
        }
        let marker = *bytes.get(position + 1)?;
        if marker == 0xFF {
            // Fill bytes may pad between segments.
            position += 1;
            continue;
        }
        let length = u16::from_be_bytes([*bytes.get(position + 2)?, *bytes.get(position + 3)?]);
        position += 2 + usize::from(length);
        if marker == 0xDA {
            return Some(position);
        }
    }
}

/// The image as JPEG, with JFIF's header only: none of the upload's metadata survives.
pub(super) fn encode(image: &RgbImage, quality: u8) -> Result<Vec<u8>, PhotoError> {
    let encode_failed = |reason: String| PhotoError::Unreadable(format!("encoding failed: {reason}"));
    let side = |length: u32| u16::try_from(length).map_err(|_| encode_failed(format!("{length} pixels a side")));
    let (width, height) = (side(image.width())?, side(image.height())?);
    let mut jpeg = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut jpeg, quality);
    // Averaged chroma keeps coloured edges clean. Optimised Huffman tables would save a tenth of the bytes, but
    // zune-jpeg 0.5 (the image crate's decoder) decodes jpeg-encoder's optimised output into wrong colours.
    encoder.set_chroma_subsampling_method(jpeg_encoder::ChromaSubsamplingMethod::Average);
    encoder
        .encode(image.as_raw(), width, height, jpeg_encoder::ColorType::Rgb)
        .map_err(|error| encode_failed(error.to_string()))?;
    Ok(jpeg)
}
