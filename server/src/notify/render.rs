//! What a notice says: a subject, plain text and HTML (inline styles, no remote images), in the
//! customer's language, with the stable `Message-ID` and a `List-Unsubscribe` to their page.

use lettre::Message;
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use todoke_shared::preferences::Preferences;
use todoke_shared::{Language, ReasonCode};

use super::Mail;
use super::slip::Slip;
use crate::app::Links;
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
    let mut paragraphs =
        vec![text.paragraphs[0].clone(), format!("{}: {}", lang.pick("お届け日時", "Delivered"), long_time(at, lang))];
    if let Some(method) = &slip.method {
        paragraphs.push(format!("{}: {}", lang.pick("受け取り方法", "How"), method.label(lang)));
    }
    if let Some(name) = &slip.received_by {
        paragraphs.push(format!("{}: {name}", lang.pick("お受け取り", "Received by")));
    }
    paragraphs.push(
        lang.pick(
            "配達の記録（写真・サイン・場所）は下のリンクからいつでもご確認いただけます。",
            "The full proof of delivery (photos, signature, place) is at the link below.",
        )
        .to_string(),
    );
    text.paragraphs = paragraphs;
    if let Some(bytes) = slip.photo {
        text.images.push(Inline {
            cid: format!("photo@{domain}"),
            alt: lang.pick("配達時の写真", "Photo at delivery"),
            content_type: "image/jpeg",
            bytes,
        });
    }
    if let Some(bytes) = slip.signature {
        text.images.push(Inline {
            cid: format!("signature@{domain}"),
            alt: lang.pick("サイン", "Signature"),
            content_type: "image/png",
            bytes,
        });
    }
    text.more = Some((lang.pick("配達についてのご感想", "Tell us how the delivery went"), format!("{link}#feedback")));
}

fn words(notice: &Notice, shipment: &ShipmentRecord, lang: Language) -> Text {
    let content = &shipment.content;
    let number = shipment.tracking_number;
    let greeting = lang.pick("様", "").to_string();
    let dear = match lang {
        Language::Ja => format!("{} {greeting}", content.recipient.name),
        Language::En => format!("Dear {},", content.recipient.name),
    };
    let window = window(&content.preferences, shipment, lang);
    let method = content.preferences.method.label(lang);
    let link_label = lang.pick("配達状況の確認・受け取り方法の変更", "Track the parcel or change how you receive it");
    match notice {
        Notice::Dispatched(_) => Text {
            subject: match lang {
                Language::Ja => format!("本日お荷物をお届けします（{number}）"),
                Language::En => format!("Your parcel is out for delivery today ({number})"),
            },
            paragraphs: vec![
                dear,
                lang.pick("お荷物が営業所を出発しました。", "Your parcel has left our depot.").to_string(),
                format!("{}: {window}", lang.pick("お届け予定", "Expected")),
                format!("{}: {method}", lang.pick("受け取り方法", "Delivery")),
                lang.pick(
                    "ドライバーへの伝言は、お届けまで下のリンクから変更できます。",
                    "You can still change your note for the driver from the link below until delivery.",
                )
                .to_string(),
            ],
            link_label,
            images: Vec::new(),
            more: None,
        },
        Notice::AttemptFailed(outcome) => {
            let reason = outcome.reason.unwrap_or(ReasonCode::Other);
            Text {
                subject: match lang {
                    Language::Ja => format!("お荷物をお届けできませんでした（{number}）"),
                    Language::En => format!("We could not deliver your parcel ({number})"),
                },
                paragraphs: vec![
                    dear,
                    format!("{}: {}", lang.pick("理由", "Why"), reason.label(lang)),
                    lang.pick(
                        "次の配達日に改めてお届けします。ご都合のよい日時や受取場所は、下のリンクからお選びいただけます。",
                        "We will try again on the next delivery day. You can choose a time that suits you, or a pickup point, from the link below.",
                    )
                    .to_string(),
                ],
                link_label,
                images: Vec::new(),
                more: None,
            }
        }
        Notice::Delayed(delay) => {
            let when = match lang {
                Language::Ja => format!("{} {}〜{}", delay.date.format("%Y年%m月%d日"), delay.start, delay.end),
                Language::En => format!("{} {}–{}", delay.date.format("%-d %b %Y"), delay.start, delay.end),
            };
            Text {
                subject: match lang {
                    Language::Ja => format!("お届けが遅れています（{number}）"),
                    Language::En => format!("Your parcel is running late ({number})"),
                },
                paragraphs: vec![
                    dear,
                    lang.pick(
                        "お届けが予定より遅れております。申し訳ございません。",
                        "We are sorry: your parcel is running late.",
                    )
                    .to_string(),
                    format!("{}: {when}", lang.pick("新しいお届け予定", "New expected time")),
                    lang.pick(
                        "ご都合が合わない場合は、下のリンクから別の日時や受取場所をお選びいただけます。",
                        "If that does not suit you, choose a later time or a pickup point from the link below.",
                    )
                    .to_string(),
                ],
                link_label,
                images: Vec::new(),
                more: None,
            }
        }
        Notice::Delivered(_) => Text {
            subject: match lang {
                Language::Ja => format!("お荷物をお届けしました（{number}）"),
                Language::En => format!("Your parcel was delivered ({number})"),
            },
            paragraphs: vec![
                dear,
                format!("{}: {}", lang.pick("お届け日時", "Delivered"), delivered_at(shipment, lang)),
                format!("{}: {method}", lang.pick("受け取り方法", "How")),
                lang.pick(
                    "配達の記録（写真・サイン）は下のリンクからご確認いただけます。",
                    "The proof of delivery (photo, signature) is at the link below.",
                )
                .to_string(),
            ],
            link_label,
            images: Vec::new(),
            more: None,
        },
        Notice::PreferencesChanged => Text {
            subject: match lang {
                Language::Ja => format!("受け取り方法の変更を承りました（{number}）"),
                Language::En => format!("Your delivery choice is updated ({number})"),
            },
            paragraphs: vec![
                dear,
                format!("{}: {method}", lang.pick("受け取り方法", "Delivery")),
                format!("{}: {window}", lang.pick("お届け日時", "When")),
                lang.pick(
                    "お心当たりのない変更は、下のリンクから元に戻せます。",
                    "If you did not make this change, you can undo it from the link below.",
                )
                .to_string(),
            ],
            link_label,
            images: Vec::new(),
            more: None,
        },
    }
}

fn delivered_at(shipment: &ShipmentRecord, lang: Language) -> String {
    long_time(shipment.content.address.local_time(shipment.updated_at), lang)
}

fn long_time(at: chrono::DateTime<chrono::FixedOffset>, lang: Language) -> String {
    match lang {
        Language::Ja => at.format("%Y年%m月%d日 %H:%M").to_string(),
        Language::En => at.format("%-d %b %Y %H:%M").to_string(),
    }
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
    match lang {
        Language::Ja => format!("{} {start}〜{end}", date.format("%Y年%m月%d日")),
        Language::En => format!("{} {start}–{end}", date.format("%-d %b %Y")),
    }
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
