//! The electronic card's payment code as a QR image (D-16), drawn on the server as inline SVG
//! with the `qrcode` crate: no image request, no script, nothing from outside. The SVG holds
//! only the crate's fixed markup and numbers (the modules' path), never the code's text, so it
//! is put into the page as it is.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// Pixels per module of the drawn image; the page scales it (CSS) to the screen.
const MODULE_PX: u32 = 8;

/// The code as an `<svg>` element (no XML prologue, for inline HTML), or None if it cannot be
/// encoded (it always can: a code is at most 64 printable ASCII characters).
pub fn qr_svg(code: &str) -> Option<String> {
    // Level M, as payment codes commonly are: readable from a scratched or dim phone screen.
    let qr = QrCode::with_error_correction_level(code.as_bytes(), EcLevel::M).ok()?;
    let image = qr
        .render::<svg::Color>()
        .module_dimensions(MODULE_PX, MODULE_PX)
        .quiet_zone(true)
        .dark_color(svg::Color("#000"))
        .light_color(svg::Color("#fff"))
        .build();
    let start = image.find("<svg")?;
    Some(image[start..].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    // The image is one inline <svg> of modules only: no prologue an HTML page would show as
    // text, no text of the code inside it, a square of whole modules with its quiet zone.
    #[test]
    fn the_code_is_an_inline_svg_of_modules_only() {
        let code = "EC2.0123456789AB.00000001.1772415660.5E2B9A01.A58F9B2C";
        let svg = qr_svg(code).unwrap();
        assert!(
            svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
            "{svg}"
        );
        assert!(svg.ends_with("</svg>"), "{svg}");
        assert!(!svg.contains("<?xml") && !svg.contains(code), "{svg}");
        assert!(
            svg.chars()
                .all(|c| c.is_ascii_alphanumeric() || " <>/=\":.#-".contains(c)),
            "{svg}"
        );
        let qr = QrCode::with_error_correction_level(code.as_bytes(), EcLevel::M).unwrap();
        let side = (qr.width() as u32 + 8) * MODULE_PX;
        assert!(
            svg.contains(&format!("viewBox=\"0 0 {side} {side}\"")),
            "{svg}"
        );
        // The longest code the contract allows still fits.
        assert!(qr_svg(&"A".repeat(64)).is_some());
    }
}
