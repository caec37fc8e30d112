//! A shop's day of orders arrives as a CSV file exported from a spreadsheet: every line is reported,
//! the good ones become shipments even when others are wrong, and sending the file again is harmless.

use reqwest::{Response, StatusCode};
use serde_json::Value;
use todoke_e2e::{TestApp, expect_json, expect_problem, order_ref};

const HEADER: &str = "external_ref,recipient_name,recipient_email,recipient_phone,language,postal_code,region,city,\
                      address_line1,address_line2,country,lat,lon,promised_date,window_start,window_end,parcels,\
                      instructions,signature_required";

async fn upload(app: &TestApp, file: impl Into<Vec<u8>>, token: &str) -> Response {
    upload_as(app, file, token, "text/csv; charset=utf-8").await
}

async fn upload_as(app: &TestApp, file: impl Into<Vec<u8>>, token: &str, content_type: &str) -> Response {
    let request = app.client.post(app.url("/api/v1/shipments/import")).bearer_auth(token);
    request.header("content-type", content_type).body(file.into()).send().await.unwrap()
}

/// `text` as Excel in Japan saves "CSV (comma delimited)": Shift_JIS (Windows' CP932), CRLF line ends.
fn shift_jis(text: &str) -> Vec<u8> {
    let text = text.replace("\r\n", "\n").replace('\n', "\r\n");
    let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(&text);
    assert!(!unmappable, "every character has a CP932 code");
    bytes.into_owned()
}

fn lines(report: &Value) -> &Vec<Value> {
    report["lines"].as_array().unwrap()
}

fn line(report: &Value, number: u64) -> &Value {
    lines(report).iter().find(|l| l["line"] == number).unwrap_or_else(|| panic!("no line {number} in {report}"))
}

fn fields(line: &Value) -> Vec<&str> {
    line["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn a_shop_imports_its_orders_and_hears_about_every_line() {
    let app = TestApp::spawn().await;
    let key = app.api_key("shop-a").await;
    let (first, second, third, fourth) = (order_ref(), order_ref(), order_ref(), order_ref());
    // Saved by a spreadsheet as "CSV UTF-8": a byte order mark, CRLF line ends, a quoted address
    // with a comma, and a quoted instruction that runs over two lines.
    let file = [
        format!("\u{feff}{HEADER}"),
        format!("{first},山田 花子,hanako@example.jp,+81 90-1234-5678,ja,135-0061,東京都,江東区,豊洲3-3-3,\"豊洲センタービル, 5F\",JP,35.6544,139.7964,2026-11-24,14:00,16:00,JP-A-1:1200;JP-A-2:800,\"宅配ボックスへ\n届いたら電話不要\",true"),
        format!("{second},Tom Baker,tom@example.com,,en,150-0001,東京都,渋谷区,神宮前1-1-1,,JP,35.6702,139.7027,2026-11-24,18:00,20:00,JP-B-1:500,,"),
        // Wrong in three columns: the address is not a number, the email has no domain, a parcel lacks its weight.
        format!("{third},佐藤 一郎,ichiro@,,ja,160-0022,東京都,新宿区,新宿3-1-1,,JP,north,139.70,2026-11-24,08:00,12:00,JP-C-1,,"),
        // The first order again, exactly as before: the same shipment, reported as a duplicate.
        format!("{first},山田 花子,hanako@example.jp,+81 90-1234-5678,ja,135-0061,東京都,江東区,豊洲3-3-3,\"豊洲センタービル, 5F\",JP,35.6544,139.7964,2026-11-24,14:00,16:00,JP-A-1:1200;JP-A-2:800,\"宅配ボックスへ\n届いたら電話不要\",true"),
        // The second order number with other details: refused, the first one stands.
        format!("{second},Someone Else,else@example.com,,en,150-0001,東京都,渋谷区,神宮前2-2-2,,JP,35.67,139.70,2026-11-24,18:00,20:00,JP-B-9:500,,"),
        // A window that ends before it starts.
        format!("{fourth},鈴木 次郎,jiro@example.jp,,ja,100-0005,東京都,千代田区,丸の内1-1-1,,JP,35.68,139.76,2026-11-24,16:00,14:00,JP-D-1:900,,"),
    ]
    .join("\r\n");

    let report = expect_json(upload(&app, file.clone(), &key).await, StatusCode::OK).await;
    assert_eq!(
        (report["created"].as_u64(), report["duplicates"].as_u64(), report["failed"].as_u64()),
        (Some(2), Some(1), Some(3)),
        "{report}"
    );
    // Line numbers are the file's: the instruction spanning two lines moves the rest down by one.
    assert_eq!(lines(&report).iter().map(|l| l["line"].as_u64().unwrap()).collect::<Vec<_>>(), vec![2, 4, 5, 6, 8, 9]);
    assert_eq!(line(&report, 2)["result"], "created");
    assert_eq!(line(&report, 4)["result"], "created");
    let bad = line(&report, 5);
    assert_eq!(bad["result"], "error");
    assert_eq!(bad["external_ref"], third);
    assert_eq!(fields(bad), vec!["recipient_email", "lat", "parcels"], "{bad}");
    let repeat = line(&report, 6);
    assert_eq!(
        (repeat["result"].as_str(), &repeat["shipment_id"]),
        (Some("duplicate"), &line(&report, 2)["shipment_id"])
    );
    assert_eq!(fields(line(&report, 8)), vec!["external_ref"]);
    assert_eq!(line(&report, 8)["errors"][0]["code"], "external_ref_taken");
    assert_eq!(fields(line(&report, 9)), vec!["window_start"]);

    // The shipments are as the shop wrote them, Japanese text, quoted comma and line break included.
    let id = line(&report, 2)["shipment_id"].as_str().unwrap();
    let shipment = expect_json(app.get_as(&format!("/api/v1/shipments/{id}"), Some(&key)).await, StatusCode::OK).await;
    assert_eq!(shipment["recipient"]["name"], "山田 花子", "{shipment}");
    assert_eq!(shipment["address"]["lines"][1], "豊洲センタービル, 5F");
    assert_eq!(shipment["parcels"].as_array().unwrap().len(), 2);
    // The cell's line break becomes a space: the driver's screen shows instructions as one line.
    assert_eq!(shipment["preferences"]["instructions"], "宅配ボックスへ 届いたら電話不要");
    assert!(shipment["pod_requirements"].as_array().unwrap().contains(&Value::from("signature")));
    assert_eq!(shipment["tracking_number"], line(&report, 2)["tracking_number"]);
    let mine = expect_json(app.get_as("/api/v1/shipments?limit=200", Some(&key)).await, StatusCode::OK).await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 2, "only the good lines are stored");

    // The shop fixes its mistakes and sends the whole file again: nothing is created twice.
    let fixed =
        file.replace("ichiro@,", "ichiro@example.jp,").replace(",north,", ",35.69,").replace("JP-C-1,", "JP-C-1:700,");
    let again = expect_json(upload(&app, fixed, &key).await, StatusCode::OK).await;
    assert_eq!(
        (again["created"].as_u64(), again["duplicates"].as_u64(), again["failed"].as_u64()),
        (Some(1), Some(3), Some(2)),
        "{again}"
    );
    assert_eq!(line(&again, 5)["result"], "created");
}

#[tokio::test]
async fn a_file_without_a_byte_order_mark_and_with_a_shift_jis_line_is_read_line_by_line() {
    let app = TestApp::spawn().await;
    let mut file = format!("{HEADER}\n").into_bytes();
    let good = format!(
        "{},山田 花子,hanako@example.jp,,ja,135-0061,東京都,江東区,豊洲3-3-3,,JP,35.6544,139.7964,2026-11-24,14:00,16:00,JP-E-1:1200,,\n",
        order_ref()
    );
    file.extend_from_slice(good.as_bytes());
    // An empty line, then 山田 in Shift_JIS, as an older export would write it.
    file.extend_from_slice(b"\n");
    file.extend_from_slice(format!("{},", order_ref()).as_bytes());
    file.extend_from_slice(&[0x8e, 0x52, 0x93, 0x63]);
    file.extend_from_slice(
        b",yamada@example.jp,,ja,135-0061,,Koto,Toyosu 3,,JP,35.65,139.79,2026-11-24,14:00,16:00,JP-E-2:100,,\n",
    );

    let report = expect_json(upload(&app, file, &app.admin_token).await, StatusCode::OK).await;
    assert_eq!(line(&report, 2)["result"], "created", "{report}");
    let sjis = line(&report, 4);
    assert_eq!(
        (sjis["errors"][0]["field"].as_str(), sjis["errors"][0]["code"].as_str()),
        (Some("recipient_name"), Some("not_utf8")),
        "{sjis}"
    );
}

#[tokio::test]
async fn a_file_saved_as_shift_jis_by_excel_in_japan_imports_with_every_character() {
    let app = TestApp::spawn().await;
    let key = app.api_key("shop-excel").await;
    let (first, second) = (order_ref(), order_ref());
    // NEC and IBM extension characters (髙, 﨑, ①, ㈱) are where a plain Shift_JIS table falls short; the
    // postal code and phone are typed in full width, as Japanese input often is.
    let file = shift_jis(&format!(
        "{HEADER}\n\
         {first},髙橋 ①郎,takahashi@example.jp,０９０－１２３４－５６７８,ja,〒１３５ー００６１,東京都,江東区,豊洲3-3-3,㈱トヨス物流 ５Ｆ,JP,35.6544,139.7964,2026-11-24,14:00,16:00,JP-SJ-1:1200,置き配ＯＫ,false\n\
         {second},山﨑 花子,yamasaki@example.jp,,ja,150-0001,東京都,渋谷区,神宮前1-1-1,,JP,35.6702,139.7027,2026-11-24,18:00,20:00,JP-SJ-2:500,,\n"
    ));
    assert!(std::str::from_utf8(&file).is_err(), "the file is not UTF-8");

    // Without a charset, the file is recognised as Shift_JIS.
    let report = expect_json(upload_as(&app, file.clone(), &key, "text/csv").await, StatusCode::OK).await;
    assert_eq!((report["created"].as_u64(), report["failed"].as_u64()), (Some(2), Some(0)), "{report}");
    let id = line(&report, 2)["shipment_id"].as_str().unwrap();
    let shipment = expect_json(app.get_as(&format!("/api/v1/shipments/{id}"), Some(&key)).await, StatusCode::OK).await;
    assert_eq!(shipment["recipient"]["name"], "髙橋 ①郎", "{shipment}");
    assert_eq!(shipment["address"]["lines"][1], "㈱トヨス物流 ５Ｆ");
    assert_eq!(shipment["address"]["postal_code"], "135-0061");
    assert_eq!(shipment["recipient"]["phone"], "090-1234-5678");
    assert_eq!(shipment["preferences"]["instructions"], "置き配ＯＫ");
    let id = line(&report, 3)["shipment_id"].as_str().unwrap();
    let shipment = expect_json(app.get_as(&format!("/api/v1/shipments/{id}"), Some(&key)).await, StatusCode::OK).await;
    assert_eq!(shipment["recipient"]["name"], "山﨑 花子", "{shipment}");

    // Declared, under any of its names, it is read the same: here the same orders, so duplicates.
    for content_type in ["text/csv; charset=Shift_JIS", "text/csv; charset=cp932", "text/csv;charset=\"windows-31j\""] {
        let again = expect_json(upload_as(&app, file.clone(), &key, content_type).await, StatusCode::OK).await;
        assert_eq!(again["duplicates"].as_u64(), Some(2), "{content_type}: {again}");
    }
}

#[tokio::test]
async fn a_file_in_an_encoding_that_cannot_be_read_gets_one_answer_and_nothing_is_taken() {
    let app = TestApp::spawn().await;
    let row = |name: &str| {
        format!(
            "{},{name},h@example.jp,,ja,135-0061,Tokyo,Koto,Toyosu 3-3-3,,JP,35.6544,139.7964,2026-11-24,14:00,16:00,JP-ENC-{}:100,,\r\n",
            order_ref(),
            order_ref()
        )
    };
    let utf8 = format!("{HEADER}\r\n{}{}", row("Tanaka"), row("山田 花子"));
    let refused = |file: Vec<u8>, content_type: &'static str| {
        let app = &app;
        async move {
            let response = upload_as(app, file, &app.admin_token, content_type).await;
            let problem = expect_problem(response, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_encoding").await;
            problem["detail"].as_str().unwrap().to_string()
        }
    };

    // Declared in an encoding that is not read.
    let detail = refused(utf8.clone().into_bytes(), "text/csv; charset=utf-16").await;
    assert!(detail.contains("charset=utf-16") && detail.contains("CSV UTF-8"), "{detail}");
    let detail = refused(utf8.clone().into_bytes(), "text/csv; charset=klingon").await;
    assert!(detail.contains("charset=klingon"), "{detail}");
    // Excel's "Unicode Text": UTF-16 with a byte order mark.
    let utf16: Vec<u8> = [0xFF, 0xFE].into_iter().chain(utf8.encode_utf16().flat_map(u16::to_le_bytes)).collect();
    let detail = refused(utf16, "text/csv").await;
    assert!(detail.contains("UTF-16"), "{detail}");
    // Bytes that are neither UTF-8 nor Shift_JIS, on the third line: named, though the second was fine.
    let (before, after) = row("@").split_once('@').map(|(b, a)| (b.to_string(), a.to_string())).unwrap();
    let garbled = [format!("{HEADER}\r\n{}{before}", row("Tanaka")).as_bytes(), b"\xFF\xFD", after.as_bytes()].concat();
    let detail = refused(garbled, "text/csv").await;
    assert!(detail.contains("Line 3 is neither UTF-8 nor Shift_JIS"), "{detail}");
    // Shift_JIS sent as UTF-8: the declaration is wrong, and the answer says what the file reads as.
    let detail = refused(shift_jis(&utf8), "text/csv; charset=utf-8").await;
    assert!(detail.contains("line 3 is not UTF-8") && detail.contains("reads as Shift_JIS"), "{detail}");

    let stored = expect_json(app.get("/api/v1/shipments?limit=200").await, StatusCode::OK).await;
    assert_eq!(stored["items"].as_array().unwrap().len(), 0, "not even the line before: {stored}");
}

#[tokio::test]
async fn a_line_whose_barcode_another_order_of_the_shop_has_is_refused_naming_that_order() {
    let app = TestApp::spawn().await;
    let key = app.api_key("shop-scans").await;
    let (first, second, third) = (order_ref(), order_ref(), order_ref());
    let barcode = format!("JP-DUP-{first}");
    let row = |order: &str, parcels: &str| {
        format!(
            "{order},山田 花子,h@example.jp,,ja,135-0061,東京都,江東区,豊洲3-3-3,,JP,35.6544,139.7964,2026-11-24,14:00,16:00,{parcels},,"
        )
    };
    let file = [
        HEADER.to_string(),
        row(&first, &format!("{barcode}:1200")),
        // The same barcode on another order of the same shop, as its second parcel.
        row(&second, &format!("JP-FREE-{second}:300;{barcode}:800")),
        row(&third, &format!("JP-FREE-{third}:300")),
    ]
    .join("\n");
    let report = expect_json(upload(&app, file.clone(), &key).await, StatusCode::OK).await;
    assert_eq!((report["created"].as_u64(), report["failed"].as_u64()), (Some(2), Some(1)), "{report}");
    let refused = line(&report, 3);
    assert_eq!(fields(refused), vec!["parcels"], "{refused}");
    assert_eq!(refused["errors"][0]["code"], "barcode_in_use");
    let message = refused["errors"][0]["message"].as_str().unwrap();
    assert!(message.starts_with("parcel 2:") && message.contains(&barcode) && message.contains(&first), "{message}");

    // Sent again, the first order is the same shipment, not a clash with itself.
    let again = expect_json(upload(&app, file, &key).await, StatusCode::OK).await;
    assert_eq!((again["duplicates"].as_u64(), again["failed"].as_u64()), (Some(2), Some(1)), "{again}");
}

#[tokio::test]
async fn a_file_with_every_header_quoted_after_a_byte_order_mark_is_read() {
    // PowerShell's Export-Csv -Encoding UTF8 writes a byte order mark and quotes every field.
    let app = TestApp::spawn().await;
    let header = HEADER.split(',').map(|name| format!("\"{name}\"")).collect::<Vec<_>>().join(",");
    let row = format!(
        "\"{}\",\"山田 花子\",\"hanako@example.jp\",\"\",\"ja\",\"135-0061\",\"東京都\",\"江東区\",\"豊洲3-3-3\",\"\",\"JP\",\"35.6544\",\"139.7964\",\"2026-11-24\",\"14:00\",\"16:00\",\"JP-H-1:1200\",\"\",\"false\"",
        order_ref()
    );
    let report =
        expect_json(upload(&app, format!("\u{feff}{header}\r\n{row}\r\n"), &app.admin_token).await, StatusCode::OK)
            .await;
    assert_eq!(line(&report, 2)["result"], "created", "{report}");
}

#[tokio::test]
async fn a_file_that_is_not_as_documented_is_refused_before_anything_is_stored() {
    let app = TestApp::spawn().await;
    let before = expect_json(app.get("/api/v1/shipments?limit=200").await, StatusCode::OK).await;
    let row = format!(
        "{},山田,h@example.jp,135-0061,江東区,豊洲,JP,35.65,139.79,2026-11-24,14:00,16:00,JP-F-1:100",
        order_ref()
    );

    // A header the server does not know: each problem named, nothing imported.
    let header = "external_ref,name,recipient_email,postal_code,city,address_line1,country,lat,lon,promised_date,window_start,window_end,parcels";
    let problem = expect_problem(
        upload(&app, format!("{header}\n{row}\n"), &app.admin_token).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_header",
    )
    .await;
    let fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, vec!["header", "recipient_name"], "{problem}");
    assert!(problem["errors"][0]["message"].as_str().unwrap().contains("'name'"), "{problem}");

    expect_problem(upload(&app, "", &app.admin_token).await, StatusCode::UNPROCESSABLE_ENTITY, "empty_file").await;
    let as_json = app.post_json("/api/v1/shipments/import", &serde_json::json!({"rows": []})).await;
    expect_problem(as_json, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type").await;
    let driver = app.user_token("driver").await;
    expect_problem(upload(&app, HEADER, &driver).await, StatusCode::FORBIDDEN, "forbidden").await;

    let after = expect_json(app.get("/api/v1/shipments?limit=200").await, StatusCode::OK).await;
    assert_eq!(before["items"], after["items"]);
}

#[tokio::test]
async fn a_file_over_the_limit_keeps_the_lines_before_it_and_says_so() {
    let app = TestApp::spawn().await;
    let header = "external_ref,recipient_name,recipient_email,postal_code,city,address_line1,country,lat,lon,promised_date,window_start,window_end,parcels,instructions";
    let row = |instructions: &str| {
        format!(
            "{},山田,h@example.jp,135-0061,江東区,豊洲,JP,35.65,139.79,2026-11-24,14:00,16:00,JP-G-{}:100,\"{instructions}\"",
            order_ref(),
            order_ref()
        )
    };
    // One good line, then a line whose instructions alone outgrow the 8 MiB limit.
    let file = format!("{header}\n{}\n{}\n", row("ok"), row(&"x".repeat(9 * 1024 * 1024)));
    let problem =
        expect_problem(upload(&app, file, &app.admin_token).await, StatusCode::PAYLOAD_TOO_LARGE, "file_too_large")
            .await;
    assert!(problem["detail"].as_str().unwrap().contains("1 lines were taken"), "{problem}");
    let stored = expect_json(app.get("/api/v1/shipments?limit=200").await, StatusCode::OK).await;
    assert_eq!(stored["items"].as_array().unwrap().len(), 1);

    // A small file of very many tiny lines, each an error, would make a report a hundred times its
    // size; past 50,000 lines the answer says so instead, and a header of a million columns gets one short error.
    let tiny = format!("{header}\n{}", "x\n".repeat(50_001));
    let problem =
        expect_problem(upload(&app, tiny, &app.admin_token).await, StatusCode::PAYLOAD_TOO_LARGE, "too_many_lines")
            .await;
    assert!(problem["detail"].as_str().unwrap().contains("50000 lines were taken"), "{problem}");
    let wide = format!("{}\n", "a,".repeat(1_000_000));
    expect_problem(upload(&app, wide, &app.admin_token).await, StatusCode::UNPROCESSABLE_ENTITY, "invalid_header")
        .await;
}
