//! What a notice says: a subject, plain text and HTML (inline styles, no remote images), in the
//! customer's language, with the stable `Message-ID` and a `List-Unsubscribe` to their page.

use lettre::Message;
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use todoke_shared::preferences::Preferences;
use todoke_shared::{Catalogue, DateStyle, Language, ReasonCode};

use super::Mail;
use super::slip::Slip;
use crate::links::Links;
use crate::store::{Notice, NoticeRecord, ShipmentRecord};

/// The parts of a notice before they become a message.
struct Text {
    subject: String,
    paragraphs: Vec<String>,
    link_label: &'static str,
    /// The delivery slip's photo and signature, shown inline (`cid:`), never fetched from a server.
    images: Vec<Inline>,
    /// A second link after the first, such as leaving feedback.
    more: Option<(&'static str, String)>,
}

struct Inline {
    /// `name@domain`, as RFC 2392 wants a Content-ID.
    cid: String,
    alt: &'static str,
    content_type: &'static str,
    bytes: Vec<u8>,
}

pub fn message(
    mail: &Mail,
    notice: &NoticeRecord,
    said: &Notice,
    shipment: &ShipmentRecord,
    links: &Links,
    slip: Option<Slip>,
) -> anyhow::Result<Message> {
    let lang = Language::from_code(&notice.language).unwrap_or_default();
    let link = links.customer_tracking_page(&shipment.tracking_number, shipment.id);
    let mut text = words(said, shipment, lang);
    if let Some(slip) = slip.filter(|_| matches!(said, Notice::Delivered(_))) {
        delivery_slip(&mut text, shipment, slip, &link, &mail.domain, lang);
    }
    let to = Mailbox::new(Some(shipment.content.recipient.name.clone()), notice.recipient.parse()?);
    let mut plain = format!("{}\n\n{}: {link}\n", text.paragraphs.join("\n\n"), text.link_label);
    if let Some((label, url)) = &text.more {
        plain.push_str(&format!("{label}: {url}\n"));
    }
    let html = html(&text, &link);
    let mut page = MultiPart::related().singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(html));
    for image in text.images {
        page = page
            .singlepart(Attachment::new_inline(image.cid).body(image.bytes, ContentType::parse(image.content_type)?));
    }
    Ok(Message::builder()
        .from(mail.from.clone())
        .to(to)
        .subject(text.subject)
        .message_id(Some(notice.message_id.clone()))
        .header(ListUnsubscribe(format!("<{link}>")))
        .multipart(
            MultiPart::alternative()
                .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(plain))
                .multipart(page),
        )?)
}

/// The delivered notice from the proof: when and how it was really delivered, to whom, the photo and
/// the signature inline, and where to leave feedback.
fn delivery_slip(text: &mut Text, shipment: &ShipmentRecord, slip: Slip, link: &str, domain: &str, lang: Language) {
    let at = shipment.content.address.local_time(slip.captured_at);
    let when = Catalogue::date_time(lang, DateStyle::Mail, at.naive_local());
    let mut paragraphs =
        vec![text.paragraphs[0].clone(), Catalogue::format(lang, "mail-delivered-at", &[("when", when.into())])];
    if let Some(method) = &slip.method {
        paragraphs.push(Catalogue::format(lang, "mail-how", &[("method", method.label(lang).into())]));
    }
    if let Some(name) = &slip.received_by {
        paragraphs.push(Catalogue::format(lang, "mail-received-by", &[("name", name.as_str().into())]));
    }
    paragraphs.push(Catalogue::text(lang, "mail-slip-proof").to_string());
    text.paragraphs = paragraphs;
    if let Some(bytes) = slip.photo {
        text.images.push(Inline {
            cid: format!("photo@{domain}"),
            alt: Catalogue::text(lang, "mail-slip-photo"),
            content_type: "image/jpeg",
            bytes,
        });
    }
    if let Some(bytes) = slip.signature {
        text.images.push(Inline {
            cid: format!("signature@{domain}"),
            alt: Catalogue::text(lang, "mail-slip-signature"),
            content_type: "image/png",
            bytes,
        });
    }
    text.more = Some((Catalogue::text(lang, "mail-slip-feedback"), format!("{link}#feedback")));
}

fn words(notice: &Notice, shipment: &ShipmentRecord, lang: Language) -> Text {
    let content = &shipment.content;
    let text = |key: &str| Catalogue::text(lang, key).to_string();
    let with = |key: &str, name: &str, value: &str| Catalogue::format(lang, key, &[(name, value.to_string().into())]);
    let number = shipment.tracking_number.to_string();
    let dear = with("mail-dear", "name", &content.recipient.name);
    let window = window(&content.preferences, shipment, lang);
    let method = content.preferences.method.label(lang);
    let kind = notice.kind();
    let paragraphs = match notice {
        Notice::Dispatched(_) => vec![
            dear,
            text("mail-dispatched-left"),
            with("mail-expected", "window", &window),
            with("mail-delivery", "method", &method),
            text("mail-dispatched-note"),
        ],
        Notice::AttemptFailed(outcome) => {
            let reason = outcome.reason.unwrap_or(ReasonCode::Other);
            vec![dear, with("mail-why", "reason", reason.label(lang)), text("mail-attempt_failed-next")]
        }
        Notice::Delayed(delay) => {
            let when = Catalogue::window(lang, DateStyle::Mail, delay.date, &delay.start, &delay.end);
            vec![
                dear,
                text("mail-delayed-sorry"),
                with("mail-delayed-new-time", "when", &when),
                text("mail-delayed-choose"),
            ]
        }
        Notice::Delivered(_) => vec![
            dear,
            with("mail-delivered-at", "when", &delivered_at(shipment, lang)),
            with("mail-how", "method", &method),
            text("mail-delivered-proof"),
        ],
        Notice::PreferencesChanged => vec![
            dear,
            with("mail-delivery", "method", &method),
            with("mail-when", "window", &window),
            text("mail-preferences_changed-undo"),
        ],
    };
    Text {
        subject: with(&format!("mail-{kind}-subject"), "number", &number),
        paragraphs,
        link_label: Catalogue::text(lang, "mail-link"),
        images: Vec::new(),
        more: None,
    }
}

fn delivered_at(shipment: &ShipmentRecord, lang: Language) -> String {
    let at = shipment.content.address.local_time(shipment.updated_at);
    Catalogue::date_time(lang, DateStyle::Mail, at.naive_local())
}

fn window(preferences: &Preferences, shipment: &ShipmentRecord, lang: Language) -> String {
    let (date, start, end) = match &preferences.window {
        Some(w) => (w.date, w.start.clone(), w.end.clone()),
        None => {
            let promised = &shipment.content.promised;
            (
                promised.date,
                promised.window.start.format("%H:%M").to_string(),
                promised.window.end.format("%H:%M").to_string(),
            )
        }
    };
    Catalogue::window(lang, DateStyle::Mail, date, &start, &end)
}

/// Readable on a phone, with inline styles only (mail clients drop style sheets), and no remote images.
fn html(text: &Text, link: &str) -> String {
    let paragraphs: String =
        text.paragraphs.iter().map(|p| format!(r#"<p style="margin:0 0 12px">{}</p>"#, escape(p))).collect();
    let images: String = text
        .images
        .iter()
        .map(|image| {
            format!(
                r#"<p style="margin:0 0 12px"><img src="cid:{}" alt="{}" style="max-width:100%;border-radius:8px;background:#fff"></p>"#,
                image.cid,
                escape(image.alt)
            )
        })
        .collect();
    let more = match &text.more {
        Some((label, url)) => format!(
            r#"<p style="margin:0 0 12px"><a href="{}" style="color:#0b6e4f">{}</a></p>"#,
            escape(url),
            escape(label)
        ),
        None => String::new(),
    };
    format!(
        r#"<!doctype html><html><body style="margin:0;padding:16px;font-family:sans-serif;font-size:16px;line-height:1.6;color:#222">
<div style="max-width:560px;margin:0 auto">
<p style="font-weight:bold;color:#0b6e4f;margin:0 0 16px">Todoke 届け</p>
{paragraphs}{images}<p style="margin:24px 0"><a href="{link}" style="display:inline-block;padding:12px 16px;background:#0b6e4f;color:#fff;text-decoration:none;border-radius:8px">{label}</a></p>
{more}</div></body></html>"#,
        link = escape(link),
        label = escape(text.link_label),
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// `List-Unsubscribe`: where the customer turns notices off (their page's preferences).
#[derive(Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(text: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribe(text.to_string()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}
