# Todoke の日本語の文言。キーとプレースホルダーは他の言語のファイルと一致させること
# (shared/src/catalogue/tests.rs が確かめる)。

## 日付と時刻: `Catalogue::date`, `date_time`, `window` が埋める形。
## プレースホルダー: $year, $month, $month2 (2桁), $day, $day2, $weekday, $monthName。

date-long = { $year }年{ $month }月{ $day }日({ $weekday })
date-mail = { $year }年{ $month2 }月{ $day2 }日
date-short = { $month }月{ $day }日
date-numeric = { $month2 }/{ $day2 }
date-time = { $date } { $time }
window-long = { $date } { $start }–{ $end }
window-mail = { $date } { $start }〜{ $end }
window-short = { $date } { $start }〜{ $end }
window-numeric = { $date } { $start }–{ $end }
time-window = { $start }–{ $end }
weekday-1 = 月
weekday-2 = 火
weekday-3 = 水
weekday-4 = 木
weekday-5 = 金
weekday-6 = 土
weekday-7 = 日
month-1 = 1月
month-2 = 2月
month-3 = 3月
month-4 = 4月
month-5 = 5月
month-6 = 6月
month-7 = 7月
month-8 = 8月
month-9 = 9月
month-10 = 10月
month-11 = 11月
month-12 = 12月

## 言語メニューに出す、その言語自身の名前。
language-name = 日本語

## 配送状況。
status-info_received = お荷物の情報を受け付けました
status-at_depot = 配達営業所に到着しました
status-out_for_delivery = 配達中です
status-delivered = 配達が完了しました
status-attempt_failed = お届けできませんでした
status-available_for_pickup = 受取場所でお受け取りいただけます
status-returned_to_sender = 差出人へ返送しました
status-cancelled = キャンセルされました
status-exception = 配達に問題が発生しています

## 配達できなかった理由。
reason-recipient_not_home = ご不在でした
reason-refused = 受け取りを拒否されました
reason-address_not_found = 住所が見つかりませんでした
reason-access_restricted = 建物に入れませんでした
reason-safe_place_unavailable = 指定の置き場所が使えませんでした
reason-business_closed = 営業時間外でした
reason-damaged = お荷物の破損が見つかりました
reason-lost = お荷物の所在を確認しています
reason-weather = 悪天候のため遅れています
reason-vehicle_problem = 配達車両の不具合のため遅れています
reason-sender_request = 差出人のご依頼によるものです
reason-other = その他の理由

## 置き配の場所。
place-front_door = 玄関前
place-delivery_box = 宅配ボックス
place-meter_box = メーターボックス
place-garage = 車庫
place-bicycle_basket = 自転車のかご
place-storage_shed = 物置
place-building_reception = 建物の受付
place-other = その他

## 受け取り方法 (お客様向け)。
method-hand_to_recipient = 対面でお渡し
method-safe_place = 置き配: { $place }
method-neighbour = 近所の方にお渡し: { $name }
method-pickup_point = 受取場所: { $point }

## ドライバーが記録する証明。
proof-signature = 署名
proof-recipient_name = 受取人の名前
proof-photo = 置き場所の写真
proof-neighbour_name = 近所の方の名前
proof-neighbour_door = 近所の方の部屋番号
proof-pickup_point_id = 受取場所
proof-scan = 全荷物のスキャン
proof-age_check = 年齢確認

## お客様へのメール。
mail-dear = { $name } 様
mail-link = 配達状況の確認・受け取り方法の変更
mail-expected = お届け予定: { $window }
mail-delivery = 受け取り方法: { $method }
mail-how = 受け取り方法: { $method }
mail-when = お届け日時: { $window }
mail-why = 理由: { $reason }
mail-delivered-at = お届け日時: { $when }
mail-received-by = お受け取り: { $name }
mail-dispatched-subject = 本日お荷物をお届けします（{ $number }）
mail-dispatched-left = お荷物が営業所を出発しました。
mail-dispatched-note = ドライバーへの伝言は、お届けまで下のリンクから変更できます。
mail-attempt_failed-subject = お荷物をお届けできませんでした（{ $number }）
mail-attempt_failed-next = 次の配達日に改めてお届けします。ご都合のよい日時や受取場所は、下のリンクからお選びいただけます。
mail-delayed-subject = お届けが遅れています（{ $number }）
mail-delayed-sorry = お届けが予定より遅れております。申し訳ございません。
mail-delayed-new-time = 新しいお届け予定: { $when }
mail-delayed-choose = ご都合が合わない場合は、下のリンクから別の日時や受取場所をお選びいただけます。
mail-delivered-subject = お荷物をお届けしました（{ $number }）
mail-delivered-proof = 配達の記録（写真・サイン）は下のリンクからご確認いただけます。
mail-preferences_changed-subject = 受け取り方法の変更を承りました（{ $number }）
mail-preferences_changed-undo = お心当たりのない変更は、下のリンクから元に戻せます。
mail-slip-proof = 配達の記録（写真・サイン・場所）は下のリンクからいつでもご確認いただけます。
mail-slip-photo = 配達時の写真
mail-slip-signature = サイン
mail-slip-feedback = 配達についてのご感想

## 配達状況のページ。
page-title = お荷物の配達状況
page-tracking_number = お問い合わせ番号
page-expected = お届け予定
page-delivered_to_area = お届け先
page-history = これまでの状況
page-not_found = お荷物が見つかりません
page-typo = お問い合わせ番号に誤りがあるようです
page-check_number = お問い合わせ番号をもう一度ご確認ください。
page-recipient = お受取人
page-how = 受け取り方法
page-hand_over = 対面で受け取る
page-safe_place = 置き配（指定の場所に置く）
page-neighbour = 近所の方に預ける
page-neighbour_name = お名前
page-neighbour_door = 部屋番号・場所
page-pickup_point = 受取場所・ロッカーで受け取る
page-place_description = 置き場所の説明（その他の場合）
page-window = お届け日時
page-promised_window = 当初のお届け予定のまま
page-instructions = ドライバーへの伝言
page-access_code = オートロック・暗証番号
page-access_code_hint = 変更しない場合はそのまま
page-language = 表示言語
page-email_notices = メールでお知らせを受け取る
page-save = 変更を保存する
page-saved = 変更を保存しました。
page-locked_method = 配達が始まったため、受け取り方法と日時は変更できません。
page-not_saved = 保存できませんでした
page-proof = 配達の記録
page-attempt = お届けにうかがいました
page-received_by = お受け取り
page-signature = サイン
page-photo = 写真
page-feedback = 配達はいかがでしたか
page-comment = ご感想（任意）
page-send_feedback = 送信する
arrival-heading = 到着見込み
arrival-stops-before = { $n ->
    [0] 次があなたのお届け先です
   *[other] あなたのお届けまであと{ $n }件
}
arrival-driver-near = ドライバーは約{ $km } km先にいます
arrival-updated = { $time }のドライバーの位置から計算

## ページのフォームの誤り (ページの言語で)。
form-unreadable = フォームを読み取れませんでした。もう一度お試しください。
form-choose-place = 置き場所を選んでください
form-choose-method = 受け取り方法を選んでください
form-choose-window = お届け日時を一覧から選んでください
form-feedback-not-delivered = ご感想はお届けの後にお送りいただけます。
# 項目ごとの誤り: 項目名と、何が誤っているか。
form-field-problem = { $field }: { $problem }
field-method = 受け取り方法
field-method-place = 置き場所
field-method-description = 置き場所の説明
field-method-name = お名前
field-method-door = 部屋番号・場所
field-method-point_id = 受取場所
field-window = お届け日時
field-instructions = ドライバーへの伝言
field-access_code = オートロック・暗証番号
field-language = 表示言語
field-rating = 評価
field-comment = ご感想
invalid-required = 入力してください
invalid-too_long = { $max }文字以内で入力してください
invalid-invalid_characters = 改行などの制御文字は使えません
invalid-unknown_pickup_point = 受取場所を一覧から選んでください
invalid-date_out_of_range = 日付を一覧から選んでください
invalid-not_a_slot = お届け日時を一覧から選んでください
invalid-out_of_range = 星を1つから5つで選んでください

## ページでお客様が出会う問題 (問題のコードごと)。
problem-form_token_invalid = このフォームはお荷物のページから送られたものではありません。ページを開き直してください。
problem-authentication_required = 先にメールのリンクからこのページを開いてください。
problem-link_expired = このリンクは有効期限が切れています（お届けから時間が経ちました）。
problem-forbidden = お客様ご本人へのメールのリンクからのみ操作できます。
problem-preferences_locked = 配達が始まったため、この項目は変更できません。
problem-tracking_number_unknown = このお問い合わせ番号のお荷物はありません。

## ドライバーアプリ (todoke-driver)。
driver-logged-out = ログアウトしました
driver-logged-in = { $email } としてログインしました
driver-queued-to-send = 未送信の作業 { $count } 件を送ります: todoke-driver sync
driver-sent = 送信済み: { $kind } { $parcel }
driver-sent-flagged = 送信済み: { $kind } { $parcel } (住所から離れた場所として記録)
driver-unreachable = サーバーにつながりません。{ $waiting } 件は保存済みで、つながったら送ります ({ $why })
driver-all-sent = すべて送信しました
driver-not-logged-in = ログインしてください: todoke-driver login
driver-queue-not-sent = { $count } 件が未送信です。先に sync で送ってからログアウトしてください
driver-queue-of-another = { $email } の未送信の作業があります。同じアカウントでログインして送ってください
driver-login-expired = ログインの期限が切れました。もう一度ログインしてください (todoke-driver login)。未送信の作業は残っています
driver-invalid-server = { $server }: サーバーは https://… の形で指定してください
driver-invalid-credentials = メールアドレスかパスワードが違います
driver-password = パスワード:{ " " }
driver-kind-arrive = 到着
driver-kind-deliver = 配達完了
driver-kind-fail = 不在・配達不可
driver-conflict = 送信できませんでした: { $kind } { $parcel }: { $what } [{ $code }]
driver-conflict-reassigned = オフラインの間に別のドライバーの担当になりました。荷物は営業所に戻してください
driver-conflict-cancelled = オフラインの間にキャンセルされました。荷物は営業所に戻してください
driver-conflict-redirected = オフラインの間に受取場所での受け取りに変更されました。荷物は営業所に戻してください
driver-conflict-changed = オフラインの間に状態が変わりました。荷物は営業所に戻してください。現在: { $status }
driver-conflict-method = お客様が受け取り方法を変更しました。新しい方法で届けてください: { $method }
driver-conflict-not-dispatched = ルートが出発前の状態に戻されました。営業所に確認してください
driver-conflict-off-route = オフラインの間にあなたのルートから外されました (別のドライバーへ、または営業所へ)。荷物は営業所に戻してください
driver-conflict-proof = 証明が足りません: { $fields }
driver-day-fetched = { $date } の配達 { $count } 件を取得しました
driver-day-unchanged = { $date } の配達 { $count } 件 (変更なし)
driver-day-not-fetched = 配達リストを取得できませんでした ({ $error })
driver-not-sent-yet = 未送信
driver-refused = 送信できず
driver-route-heading = { $date } の配達 { $count } 件 ({ $fetched } 取得)
driver-proof = 証明
driver-show-stop = 番号
driver-show-status = 状態
driver-show-planned = 予定
driver-show-name = お名前
driver-show-phone = 電話
driver-show-address = 住所
driver-show-delivery = 受け取り方法
driver-show-instructions = メモ
driver-show-access_code = 暗証番号
driver-show-proof_needed = 必要な証明
driver-show-parcels = 荷物
driver-no-such-stop = { $reference }: その配達先は今日のリストにありません (todoke-driver route)
driver-stop-closed = { $parcel } はもう閉じています: { $status }
driver-no-position = 現在地がありません: --at 緯度,経度 を付けるか locate を実行してください
driver-invalid-reason = { $reason }: 理由は次から: { $codes }
driver-saved = 保存しました: { $kind } { $parcel } (#{ $number })
driver-locate-needs = --at か --replay を指定してください
driver-positions-recorded = 現在地 { $count } 件を記録しました
driver-status-logged-in = ログイン: { $email } ({ $server })
driver-status-not-logged-in = ログインしていません
driver-status-queued = 未送信: { $count } 件、位置情報 { $positions } 件
driver-action-queued = 未送信 (試行 { $attempts })
driver-action-sent = 送信済み { $time } → { $status }
driver-refusal-method = お客様の選んだ受け取り方法と違います。選ばれた方法で届けるか、対面で渡してください
driver-missing = 不足: { $proof }
driver-wrong-parcel = { $code }: この配達の荷物ではありません
driver-unscanned = { $code }: スキャンしてください
driver-too-many-photos = 写真は最大 { $max }
driver-photos-too-large = 写真の合計が大きすぎます。枚数を減らしてください
driver-file-unreadable = 読めません ({ $error })
driver-file-too-large = 大きすぎます。上限 { $mb } MB
driver-file-not-photo = 写真ではありません (JPEG, PNG, WebP)
driver-file-not-signature = 署名のデータ (JSON) でも PNG でもありません
driver-no-day = 配達リストがまだありません: オンラインで todoke-driver sync を実行してください
driver-invalid-position = { $text }: 緯度,経度 または 緯度,経度,精度(m) の形で指定してください (例: 35.6812,139.7671)
