// Renders a certificate document (document.h) as the PDF a kiosk prints: A4 portrait, in Noto Serif
// CJK JP (明朝, as a real 住民票), every font embedded (subsets), readable in any PDF reader.
//
// What every page carries:
//   - the title, centred at the top;
//   - the blocks, in order, in the content area (a row never splits; a grid table continued on the
//     next page repeats its header row there);
//   - a security background over the whole sheet: a light tint of fine dots in which the word
//     「複写」 is drawn, repeated, in coarser dots of the same average tone. On the sheet the tint
//     looks even; a photocopier drops the fine dots and keeps the coarse ones, so 「複写」 shows on
//     a copy (a latent image, 複写牽制地紋);
//   - the verification code (verification.h) as a QR code (vector squares, error correction M)
//     with the issuance number (発行番号) beside it, and the page number ("1/2").
// The last page also carries, above the QR code: the certification sentence, the date of issue in
// the Japanese era (令和7年12月2日), and the mayor's title and name with the official seal (職印,
// seal_image.h) stamped over the end of the name, as on paper. When the last page has no room for
// them, its last row (a grid row with the header) moves with them to a new page, so that they never
// stand alone; only when that row is all its page holds, or is too tall to share a page with them,
// do they go to a new page by themselves.
//
// Metadata: Title (the document's title), Subject (Document::subject: the centre's mis-issuance
// check reads it), Author (the municipality's name), Keywords (the issuance number), Creator
// ("OpenJLIS"), and the creation date set to the date of issue (the same document renders to the
// same layout).
#pragma once

#include <string>

#include "common/status.h"
#include "municipal/document.h"
#include "municipal/verification.h"

namespace jlis::municipal {

// The PDF file's bytes of `document` with `code` as its QR code on every page.
//
// invalid_argument when the document cannot be laid out: an empty title, issuance number, issuer
// name, mayor's title or certification sentence; a grid table without headers, whose rows do not
// have one cell per header, or whose column weights are not one positive number per header; an
// image that is not a readable PNG or whose size is not 5..150 mm; a field table's label column
// outside 10..100 mm; a row taller than a page's content area (a name or address too long for the
// form: kiosks refuse such documents rather than print them cut); a code payload too long for a
// QR code. internal when cairo, pango or libqrencode fail (out of memory, fonts missing).
// Thread-safe: each call uses its own surfaces.
Result<std::string> render_pdf(const Document& document, const VerificationCode& code);

}  // namespace jlis::municipal
