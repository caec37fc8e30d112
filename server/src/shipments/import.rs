//! Shipments from a shop's CSV file, in one pass over the file as it arrives: each line is checked and
//! created on its own, so a bad line is reported without holding back the good ones, and a file sent
//! again only reports its lines as duplicates.

use std::io;

use chrono::{DateTime, Utc};
use csv_async::{AsyncReaderBuilder, ByteRecord, Terminator};
use todoke_shared::import::{Header, ImportLine, ImportReport, ImportResult, LineError};
use todoke_shared::preferences::Choices;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt};

use super::encoding::{self, Charset, EncodingError, ShiftJisReader};
use super::service::{Created, ShipmentError, create};
use crate::store::Store;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the file has no header line")]
    Empty,
    #[error("the header line is not as documented")]
    Header(todoke_shared::ValidationErrors),
    /// The file is in an encoding that is not read; nothing was taken.
    #[error(transparent)]
    Encoding(#[from] EncodingError),
    /// The file stopped being readable (too large, or the upload broke off) after `report` was made.
    #[error("the file could not be read to the end: {error}")]
    Unreadable { error: io::Error, report: Box<ImportReport> },
    /// More lines than one import takes; those before the limit are in `report`.
    #[error("the file has more than {MAX_LINES} lines")]
    TooManyLines { report: Box<ImportReport> },
    #[error(transparent)]
    Shipment(#[from] ShipmentError),
}

/// The most lines one import takes: with the report kept small, a file of tiny bad lines cannot
/// make an answer a hundred times its size.
pub const MAX_LINES: usize = 50_000;

/// Who imports, and what their lines may choose from.
pub struct Importer<'a> {
    pub store: &'a dyn Store,
    pub choices: Choices<'a>,
    pub merchant: Option<&'a str>,
    pub actor: &'a str,
    pub now: DateTime<Utc>,
}

impl Importer<'_> {
    /// Imports `file`, in the `charset` its request declares (a label such as `utf-8` or `Shift_JIS`) or,
    /// without one, in the encoding its start reads as (see [`encoding`]).
    pub async fn import(
        &self,
        mut file: impl AsyncBufRead + Unpin + Send + 'static,
        charset: Option<&str>,
    ) -> Result<ImportReport, ImportError> {
        let mut report = ImportReport { created: 0, duplicates: 0, failed: 0, lines: Vec::new() };
        let declared = charset.map(encoding::declared).transpose()?;
        // The encoding is told from the start of the file, before any line is taken; the rest streams.
        let (head, complete) = match sniff(&mut file).await {
            Ok(head) => head,
            Err(error) => return Err(ImportError::Unreadable { error, report: Box::new(report) }),
        };
        let charset = encoding::detect(&head, complete, declared)?;
        // A byte order mark goes before csv sees it: a quoted first name after one would keep its quotes.
        let text = std::io::Cursor::new(encoding::without_bom(head)).chain(file);
        let text: Box<dyn AsyncRead + Unpin + Send> = match charset {
            Charset::Utf8 => Box::new(text),
            Charset::ShiftJis => Box::new(ShiftJisReader::new(text)),
        };
        // Lines end at LF; the CR of a CRLF stays on the last field, where trimming drops it. (With CRLF
        // as the terminator, csv counts a line late and every reported line number would be one short.)
        let mut reader = AsyncReaderBuilder::new()
            .flexible(true)
            .has_headers(false)
            .terminator(Terminator::Any(b'\n'))
            .create_reader(text);
        let mut record = ByteRecord::new();
        let header = match reader.read_byte_record(&mut record).await {
            Ok(true) => header(&record)?,
            Ok(false) => return Err(ImportError::Empty),
            Err(error) => return Err(unreadable(error, report)),
        };
        loop {
            match reader.read_byte_record(&mut record).await {
                Ok(true) => {}
                Ok(false) => return Ok(report),
                Err(error) => return Err(unreadable(error, report)),
            }
            // Spreadsheets save empty rows as a line of commas.
            if record.iter().all(|field| field.trim_ascii().is_empty()) {
                continue;
            }
            // csv dates a record from before the empty lines it skipped; its end, less the line breaks
            // inside it, is where it began (one line late only for a last line without a line end).
            let inner_breaks = record.iter().map(|f| f.iter().filter(|&&b| b == b'\n').count() as u64).sum::<u64>();
            let started = record.position().map_or(0, |p| p.line());
            let line = started.max(reader.position().line().saturating_sub(inner_breaks + 1));
            if report.lines.len() == MAX_LINES {
                return Err(ImportError::TooManyLines { report: Box::new(report) });
            }
            let outcome = self.line(&header, &record, line, charset).await?;
            match outcome.result {
                ImportResult::Created => report.created += 1,
                ImportResult::Duplicate => report.duplicates += 1,
                ImportResult::Error => report.failed += 1,
            }
            report.lines.push(outcome);
        }
    }

    async fn line(
        &self,
        header: &Header,
        record: &ByteRecord,
        line: u64,
        charset: Charset,
    ) -> Result<ImportLine, ImportError> {
        let failed = |external_ref: Option<String>, errors: Vec<LineError>| ImportLine {
            line,
            result: ImportResult::Error,
            external_ref,
            shipment_id: None,
            tracking_number: None,
            errors,
        };
        let fields = match text_fields(header, record, charset) {
            Ok(fields) => fields,
            Err(error) => return Ok(failed(None, vec![error])),
        };
        let external_ref = header.field(&fields, "external_ref").map(str::to_string);
        let content = match header.shipment(&fields, &self.choices) {
            Ok(content) => content,
            Err(errors) => return Ok(failed(external_ref, errors)),
        };
        match create(self.store, content, self.merchant, self.actor, self.now).await {
            Ok((created, record)) => Ok(ImportLine {
                line,
                result: match created {
                    Created::New => ImportResult::Created,
                    Created::Existing => ImportResult::Duplicate,
                },
                external_ref,
                shipment_id: Some(record.id),
                tracking_number: Some(record.tracking_number),
                errors: Vec::new(),
            }),
            Err(error @ ShipmentError::ExternalRefTaken(_)) => Ok(failed(
                external_ref,
                vec![LineError {
                    field: "external_ref".into(),
                    code: "external_ref_taken".into(),
                    message: error.to_string(),
                }],
            )),
            Err(ShipmentError::BarcodesTaken(taken)) => Ok(failed(
                external_ref,
                taken
                    .iter()
                    .map(|parcel| LineError {
                        field: "parcels".into(),
                        code: "barcode_in_use".into(),
                        message: format!("parcel {}: {}", parcel.position + 1, parcel),
                    })
                    .collect(),
            )),
            Err(error) => Err(error.into()),
        }
    }
}

fn header(record: &ByteRecord) -> Result<Header, ImportError> {
    let names: Vec<&str> = record.iter().map(std::str::from_utf8).collect::<Result<_, _>>().map_err(|_| {
        ImportError::Header(todoke_shared::ValidationErrors::single(
            "header",
            "not_utf8",
            "the header is not UTF-8 text; save the file as CSV UTF-8",
        ))
    })?;
    if names.iter().all(|name| name.trim_start_matches('\u{feff}').trim().is_empty()) {
        return Err(ImportError::Empty);
    }
    Header::parse(names).map_err(ImportError::Header)
}

/// The fields of a line as text, or the first that is not text in the file's encoding.
fn text_fields<'r>(header: &Header, record: &'r ByteRecord, charset: Charset) -> Result<Vec<&'r str>, LineError> {
    record
        .iter()
        .enumerate()
        .map(|(index, field)| {
            let unreadable = |code: &str, message: &str| LineError {
                field: header.column(index).to_string(),
                code: code.into(),
                message: message.into(),
            };
            let text = std::str::from_utf8(field).map_err(|_| {
                unreadable(
                    "not_utf8",
                    "this field is not UTF-8 text, as the file's first lines are; save the file as CSV UTF-8",
                )
            })?;
            // A byte that Shift_JIS does not have was decoded as U+FFFD, which no Shift_JIS text can hold.
            if charset == Charset::ShiftJis && text.contains('\u{FFFD}') {
                return Err(unreadable(
                    "not_shift_jis",
                    "this field has bytes that are not Shift_JIS (CP932) text, as the rest of the file is; \
                     save the file as CSV UTF-8",
                ));
            }
            Ok(text)
        })
        .collect()
}

/// Reads the start of a file, up to where its encoding can be told ([`encoding::can_tell`]) or
/// [`encoding::SNIFF_BYTES`]; and whether that was the whole file.
async fn sniff(file: &mut (impl AsyncBufRead + Unpin)) -> io::Result<(Vec<u8>, bool)> {
    let mut head = Vec::new();
    while head.len() < encoding::SNIFF_BYTES && !encoding::can_tell(&head) {
        let chunk = file.fill_buf().await?;
        if chunk.is_empty() {
            return Ok((head, true));
        }
        let take = chunk.len().min(encoding::SNIFF_BYTES - head.len());
        head.extend_from_slice(&chunk[..take]);
        file.consume(take);
    }
    Ok((head, false))
}

fn unreadable(error: csv_async::Error, report: ImportReport) -> ImportError {
    let error = match error.into_kind() {
        csv_async::ErrorKind::Io(error) => error,
        other => io::Error::other(format!("{other:?}")),
    };
    ImportError::Unreadable { error, report: Box::new(report) }
}
