"""Every user-facing text of the API, in English, Russian and Uzbek (Latin script), keyed by the stable error code.

Uzbek writes o‘ and g‘ with ‘ (U+2018) and the tutuq belgisi with ’ (U+2019), never a plain '."""

from __future__ import annotations

LANGUAGES = ("en", "ru", "uz")
DEFAULT_LANGUAGE = "en"

# Error codes (error.code) -> text per language. Format fields come from error.details.
ERRORS: dict[str, dict[str, str]] = {
    "bad_request": {"en": "The request is malformed.", "ru": "Некорректный запрос.",
                    "uz": "So‘rov noto‘g‘ri tuzilgan."},
    "invalid_json": {"en": "The body is not valid JSON.", "ru": "Тело запроса не является корректным JSON.",
                     "uz": "So‘rov tanasi yaroqli JSON emas."},
    "body_too_large": {"en": "The request body is too large.", "ru": "Тело запроса слишком большое.",
                       "uz": "So‘rov tanasi juda katta."},
    "validation_failed": {"en": "Some fields are invalid.", "ru": "Некоторые поля заполнены неверно.",
                          "uz": "Ba’zi maydonlar noto‘g‘ri to‘ldirilgan."},
    "unauthenticated": {"en": "Log in to continue.", "ru": "Войдите, чтобы продолжить.",
                        "uz": "Davom etish uchun tizimga kiring."},
    "token_invalid": {"en": "The access token is invalid.", "ru": "Токен доступа недействителен.",
                      "uz": "Kirish tokeni yaroqsiz."},
    "token_expired": {"en": "The access token has expired.", "ru": "Срок действия токена доступа истёк.",
                      "uz": "Kirish tokenining muddati tugagan."},
    "session_ended": {"en": "Your session has ended. Log in again.",
                      "ru": "Ваша сессия завершена. Войдите снова.",
                      "uz": "Seansingiz tugadi. Qaytadan kiring."},
    "rights_changed": {"en": "Your rights have changed. Refresh the session to continue.",
                       "ru": "Ваши права изменились. Обновите сессию, чтобы продолжить.",
                       "uz": "Huquqlaringiz o‘zgardi. Davom etish uchun seansni yangilang."},
    "current_password_invalid": {"en": "Enter your current password correctly to change your password or e-mail.",
                                 "ru": "Чтобы сменить пароль или почту, правильно введите текущий пароль.",
                                 "uz": "Parol yoki elektron pochtani o‘zgartirish uchun joriy parolni to‘g‘ri "
                                       "kiriting."},
    "invalid_credentials": {"en": "Wrong e-mail or password.", "ru": "Неверная почта или пароль.",
                            "uz": "Elektron pochta yoki parol noto‘g‘ri."},
    "crm_id_required": {"en": "This e-mail is used in several CRMs. Choose the CRM ID.",
                        "ru": "Эта почта используется в нескольких CRM. Выберите CRM ID.",
                        "uz": "Bu elektron pochta bir nechta CRM tizimida ishlatiladi. CRM ID ni tanlang."},
    "refresh_invalid": {"en": "The refresh token is invalid.", "ru": "Токен обновления недействителен.",
                        "uz": "Yangilash tokeni yaroqsiz."},
    "reset_token_invalid": {"en": "The reset link is invalid or has expired.",
                            "ru": "Ссылка для смены пароля недействительна или устарела.",
                            "uz": "Parolni tiklash havolasi yaroqsiz yoki muddati o‘tgan."},
    "forbidden": {"en": "Your role does not allow this action.", "ru": "Ваша роль не позволяет это действие.",
                  "uz": "Rolingiz bu amalni bajarishga ruxsat bermaydi."},
    "not_found": {"en": "Not found.", "ru": "Не найдено.",
                  "uz": "Topilmadi."},
    "user_not_found": {"en": "User not found.", "ru": "Пользователь не найден.",
                       "uz": "Foydalanuvchi topilmadi."},
    "group_not_found": {"en": "Group not found.", "ru": "Группа не найдена.",
                        "uz": "Guruh topilmadi."},
    "role_not_found": {"en": "Role not found.", "ru": "Роль не найдена.",
                       "uz": "Rol topilmadi."},
    "email_taken": {"en": "User with this email already exists",
                    "ru": "Пользователь с такой почтой уже существует",
                    "uz": "Bunday elektron pochtali foydalanuvchi allaqachon mavjud"},
    "group_not_empty": {"en": "The group still has users.", "ru": "В группе ещё есть пользователи.",
                        "uz": "Guruhda hali foydalanuvchilar bor."},
    "role_in_use": {"en": "Users still have this role.", "ru": "Эта роль ещё назначена пользователям.",
                    "uz": "Bu rol hali foydalanuvchilarga biriktirilgan."},
    "role_protected": {"en": "The administrator role cannot lose its rights or be deleted.",
                       "ru": "Роль администратора нельзя удалить или лишить прав.",
                       "uz": "Administrator rolini o‘chirib ham, uning huquqlarini cheklab ham bo‘lmaydi."},
    "last_admin": {"en": "The company must keep at least one active administrator.",
                   "ru": "В компании должен остаться хотя бы один активный администратор.",
                   "uz": "Kompaniyada kamida bitta faol administrator qolishi kerak."},
    # pipeline
    "funnel_not_found": {"en": "Funnel not found.", "ru": "Воронка не найдена.",
                         "uz": "Voronka topilmadi."},
    "stage_not_found": {"en": "Stage not found.", "ru": "Этап не найден.",
                        "uz": "Bosqich topilmadi."},
    "field_not_found": {"en": "Field not found.", "ru": "Поле не найдено.",
                        "uz": "Maydon topilmadi."},
    "stale_version": {"en": "Someone else has changed this funnel. Reload it and edit again.",
                      "ru": "Воронку уже изменил кто-то другой. Обновите страницу и внесите изменения снова.",
                      "uz": "Bu voronkani boshqa kimdir o‘zgartirgan. "
                            "Sahifani yangilang va o‘zgarishlarni qaytadan kiriting."},
    "field_key_taken": {"en": "A field with this key already exists.", "ru": "Поле с таким ключом уже существует.",
                        "uz": "Bunday kalitli maydon allaqachon mavjud."},
    "too_many_fields": {"en": "Too many fields: at most {max}.", "ru": "Слишком много полей: не более {max}.",
                        "uz": "Maydonlar juda ko‘p: ko‘pi bilan {max} ta."},
    "too_many_tasks": {"en": "Too many tasks in one request: at most {max}.",
                       "ru": "Слишком много задач в одном запросе: не более {max}.",
                       "uz": "Bitta so‘rovda vazifalar juda ko‘p: ko‘pi bilan {max} ta."},
    # billing
    "payment_required": {"en": "The paid period has ended ({paid_until}). Pay in Settings -> Bill and payment to continue.",
                         "ru": "Оплаченный период закончился ({paid_until}). Оплатите в Настройки -> Счёт и оплата, чтобы продолжить.",
                         "uz": "To‘langan davr tugadi ({paid_until}). Davom etish uchun Sozlamalar -> Hisob va to‘lov "
                               "bo‘limida to‘lovni amalga oshiring."},
    "order_not_found": {"en": "Order not found.", "ru": "Заказ не найден.",
                        "uz": "Buyurtma topilmadi."},
    "order_not_payable": {"en": "This order is not awaiting payment (it is {status}).",
                          "ru": "Этот заказ не ожидает оплаты (статус: {status}).",
                          "uz": "Bu buyurtma to‘lovni kutmayapti (holati: {status})."},
    "invoice_rejected": {"en": "CLICK refused the invoice: {note}", "ru": "CLICK отклонил счёт: {note}",
                         "uz": "CLICK hisobni rad etdi: {note}"},
    "payment_provider_unavailable": {"en": "CLICK is not answering. Try again shortly.",
                                     "ru": "CLICK не отвечает. Повторите попытку чуть позже.",
                                     "uz": "CLICK javob bermayapti. Birozdan so‘ng qayta urinib ko‘ring."},
    # records
    "deal_not_found": {"en": "Deal not found.", "ru": "Сделка не найдена.",
                       "uz": "Bitim topilmadi."},
    "client_not_found": {"en": "Client not found.", "ru": "Клиент не найден.",
                         "uz": "Mijoz topilmadi."},
    "task_not_found": {"en": "Task not found.", "ru": "Задача не найдена.",
                       "uz": "Vazifa topilmadi."},
    "record_deleted": {"en": "This record is deleted. Restore it first.",
                       "ru": "Эта запись удалена. Сначала восстановите её.",
                       "uz": "Bu yozuv o‘chirilgan. Avval uni tiklang."},
    "required_fields_missing": {"en": "Fill in the fields required at this stage: {names}.",
                                "ru": "Заполните обязательные на этом этапе поля: {names}.",
                                "uz": "Ushbu bosqichda majburiy bo‘lgan maydonlarni to‘ldiring: {names}."},
    "field_write_once": {"en": "These fields can be filled only once: {names}.",
                         "ru": "Эти поля можно заполнить только один раз: {names}.",
                         "uz": "Bu maydonlarni faqat bir marta to‘ldirish mumkin: {names}."},
    "read_only_field": {"en": "These fields are filled by the system: {names}.",
                        "ru": "Эти поля заполняет система: {names}.",
                        "uz": "Bu maydonlarni tizim to‘ldiradi: {names}."},
    "invalid_cursor": {"en": "The page cursor is invalid. Start from the first page.",
                       "ru": "Некорректный курсор страницы. Начните с первой страницы.",
                       "uz": "Sahifa kursori yaroqsiz. Birinchi sahifadan boshlang."},
    "task_type_exists": {"en": "This task type already exists.", "ru": "Такой тип задачи уже существует.",
                         "uz": "Bunday vazifa turi allaqachon mavjud."},
    "rate_limited": {"en": "Too many requests. Try again in {retry_after} s.",
                     "ru": "Слишком много запросов. Повторите через {retry_after} с.",
                     "uz": "So‘rovlar juda ko‘p. {retry_after} soniyadan keyin qayta urinib ko‘ring."},
    "service_unavailable": {"en": "The service is temporarily unavailable. Try again shortly.",
                            "ru": "Сервис временно недоступен. Повторите попытку чуть позже.",
                            "uz": "Xizmat vaqtincha ishlamayapti. Birozdan so‘ng qayta urinib ko‘ring."},
    "method_not_allowed": {"en": "This method is not allowed here.", "ru": "Этот метод здесь не поддерживается.",
                           "uz": "Bu yerda bu metod qo‘llab-quvvatlanmaydi."},
    "idempotency_key_reused": {"en": "This Idempotency-Key was already used with a different request.",
                              "ru": "Этот Idempotency-Key уже использован с другим запросом.",
                               "uz": "Bu Idempotency-Key boshqa so‘rov bilan allaqachon ishlatilgan."},
    "idempotency_in_progress": {"en": "A request with this Idempotency-Key is still being processed.",
                                "ru": "Запрос с этим Idempotency-Key ещё обрабатывается.",
                                "uz": "Bu Idempotency-Key bilan yuborilgan so‘rov hali qayta ishlanmoqda."},
    "process_not_found": {"en": "Business process not found.", "ru": "Бизнес-процесс не найден.",
                          "uz": "Biznes-jarayon topilmadi."},
    "internal": {"en": "Something went wrong on our side.", "ru": "Что-то пошло не так на нашей стороне.",
                 "uz": "Biz tomonda nimadir xato ketdi."},
}

# Field error codes (details.fields[].code) -> text; params come from the field error.
FIELD_ERRORS: dict[str, dict[str, str]] = {
    "required": {"en": "This field is required.", "ru": "Это поле обязательно.",
                 "uz": "Bu maydon majburiy."},
    "too_long": {"en": "At most {max} characters.", "ru": "Не более {max} символов.",
                 "uz": "Ko‘pi bilan {max} ta belgi."},
    "too_short": {"en": "At least {min} characters.", "ru": "Не менее {min} символов.",
                  "uz": "Kamida {min} ta belgi."},
    "too_many": {"en": "At most {max} items.", "ru": "Не более {max} элементов.",
                 "uz": "Ko‘pi bilan {max} ta element."},
    "too_small": {"en": "Must be at least {min}.", "ru": "Должно быть не меньше {min}.",
                  "uz": "Kamida {min} bo‘lishi kerak."},
    "too_large": {"en": "Must be at most {max}.", "ru": "Должно быть не больше {max}.",
                  "uz": "Ko‘pi bilan {max} bo‘lishi kerak."},
    "password_common": {"en": "This password is too common. Choose another one.",
                        "ru": "Этот пароль слишком распространён. Выберите другой.",
                        "uz": "Bu parol juda keng tarqalgan. Boshqasini tanlang."},
    "invalid_email": {"en": "Enter a valid e-mail address.", "ru": "Введите корректный адрес почты.",
                      "uz": "To‘g‘ri elektron pochta manzilini kiriting."},
    "invalid_type": {"en": "Wrong type of value.", "ru": "Неверный тип значения.",
                     "uz": "Qiymat turi noto‘g‘ri."},
    "invalid_value": {"en": "Invalid value.", "ru": "Недопустимое значение.",
                      "uz": "Qiymat yaroqsiz."},
    "invalid_choice": {"en": "Choose one of the allowed values.", "ru": "Выберите одно из допустимых значений.",
                       "uz": "Ruxsat etilgan qiymatlardan birini tanlang."},
    "invalid_time_zone": {"en": "Unknown time zone.", "ru": "Неизвестный часовой пояс.",
                          "uz": "Noma’lum vaqt mintaqasi."},
    "wrong_entity": {"en": "This belongs to another kind of record (expected: {entity}).",
                     "ru": "Относится к другому типу записей (нужно: {entity}).",
                     "uz": "Bu boshqa turdagi yozuvga tegishli (kutilgan tur: {entity})."},
    "stage_not_in_funnel": {"en": "This stage is not in the chosen funnel.", "ru": "Этого этапа нет в выбранной воронке.",
                            "uz": "Bu bosqich tanlangan voronkada yo‘q."},
    "unknown_reference": {"en": "No such object in your company.", "ru": "Такого объекта нет в вашей компании.",
                          "uz": "Kompaniyangizda bunday obyekt yo‘q."},
    # phones (F15): billing's invoice phone; the same codes and params as records
    "phone_country_unknown": {"en": "Choose a country from the list.", "ru": "Выберите страну из списка.",
                              "uz": "Ro‘yxatdan mamlakatni tanlang."},
    "phone_digits_only": {"en": "Type only digits, without {dialing_code} and without spaces.",
                          "ru": "Введите только цифры, без {dialing_code} и без пробелов.",
                          "uz": "Faqat raqamlarni kiriting, {dialing_code} kodisiz va bo‘sh joylarsiz."},
    "phone_length": {"en": "A number in {country} has {lengths} digits after {dialing_code}.",
                     "ru": "Номер в стране {country} содержит {lengths} цифр после {dialing_code}.",
                     "uz": "{country} raqamida {dialing_code} kodidan keyin {lengths} ta raqam bo‘ladi."},
    "phone_invalid": {"en": "This is not a valid {country} number (e.g. {example}).",
                      "ru": "Это некорректный номер для страны {country} (например, {example}).",
                      "uz": "Bu {country} uchun yaroqli raqam emas (masalan, {example})."},
    # pipeline
    "invalid_groups": {"en": "The four groups are fixed: list each once, in this order: {groups}.",
                       "ru": "Четыре группы неизменны: укажите каждую один раз в таком порядке: {groups}.",
                       "uz": "To‘rtta guruh o‘zgarmas: har birini bir martadan, "
                             "quyidagi tartibda ko‘rsating: {groups}."},
    "group_empty": {"en": "Each group needs at least one stage.", "ru": "В каждой группе должен быть хотя бы один этап.",
                    "uz": "Har bir guruhda kamida bitta bosqich bo‘lishi kerak."},
    "invalid_color": {"en": "Enter a color as #RRGGBB.", "ru": "Укажите цвет в формате #RRGGBB.",
                      "uz": "Rangni #RRGGBB ko‘rinishida kiriting."},
    "duplicate": {"en": "This value is repeated.", "ru": "Это значение повторяется.",
                  "uz": "Bu qiymat takrorlanmoqda."},
    "stage_kept": {"en": "This stage is still in the funnel, so it cannot be removed.",
                   "ru": "Этот этап остаётся в воронке, его нельзя удалить.",
                   "uz": "Bu bosqich voronkada qolmoqda, shuning uchun uni o‘chirib bo‘lmaydi."},
    "invalid_move_target": {"en": "Choose a stage that remains in this funnel.",
                            "ru": "Выберите этап, который остаётся в этой воронке.",
                            "uz": "Ushbu voronkada qoladigan bosqichni tanlang."},
    "removal_target_missing": {"en": "Choose where the records of the removed stage \"{name}\" go.",
                               "ru": "Выберите, куда перенести записи удаляемого этапа «{name}».",
                               "uz": "O‘chirilayotgan «{name}» bosqichidagi yozuvlar qayerga ko‘chirilishini tanlang."},
    "not_allowed": {"en": "Not allowed for this type.", "ru": "Недопустимо для этого типа.",
                    "uz": "Bu tur uchun ruxsat etilmagan."},
    "invalid_key": {"en": "Use lowercase Latin letters, digits and _; start with a letter.",
                    "ru": "Используйте строчные латинские буквы, цифры и _; первый символ — буква.",
                    "uz": "Kichik lotin harflari, raqamlar va _ belgisidan foydalaning; birinchi belgi harf bo‘lsin."},
    "key_reserved": {"en": "This key belongs to a built-in field.", "ru": "Этот ключ занят встроенным полем.",
                     "uz": "Bu kalit o‘rnatilgan maydonga tegishli."},
    "unknown_field": {"en": "There is no field \"{key}\".", "ru": "Поля «{key}» нет.",
                      "uz": "«{key}» maydoni mavjud emas."},
    "auto_field": {"en": "The system fills \"{key}\"; it cannot be required or one-time.",
                   "ru": "Поле «{key}» заполняет система; оно не может быть обязательным или однократным.",
                   "uz": "«{key}» maydonini tizim to‘ldiradi; u majburiy yoki bir martalik bo‘la olmaydi."},
    "wrong_field_type": {"en": "\"{key}\" is not a field of type {type}.", "ru": "Поле «{key}» не имеет тип {type}.",
                         "uz": "«{key}» maydoni {type} turida emas."},
    # records
    "invalid_amount": {"en": "Enter an amount in UZS, e.g. 1500 or 1500.50.",
                       "ru": "Введите сумму в сумах, например 1500 или 1500.50.",
                       "uz": "Summani so‘mda kiriting, masalan, 1500 yoki 1500.50."},
    "too_many_decimals": {"en": "At most {max} digits after the point.", "ru": "Не более {max} знаков после точки.",
                          "uz": "Nuqtadan keyin ko‘pi bilan {max} ta raqam."},
    "invalid_number": {"en": "Enter a number.", "ru": "Введите число.",
                       "uz": "Son kiriting."},
    "date_out_of_range": {"en": "Enter a date from {min} to {max}.", "ru": "Введите дату с {min} по {max}.",
                          "uz": "{min} dan {max} gacha bo‘lgan sanani kiriting."},
    "invalid_date": {"en": "Enter a date as YYYY-MM-DD.", "ru": "Введите дату в формате ГГГГ-ММ-ДД.",
                     "uz": "Sanani YYYY-MM-DD ko‘rinishida kiriting."},
    "invalid_datetime": {"en": "Enter a date and time with a time zone, e.g. 2026-01-31T09:00:00Z.",
                         "ru": "Введите дату и время с часовым поясом, например 2026-01-31T09:00:00Z.",
                         "uz": "Sana va vaqtni vaqt mintaqasi bilan kiriting, masalan, 2026-01-31T09:00:00Z."},
    "invalid_url": {"en": "Enter a link starting with http:// or https://.",
                    "ru": "Введите ссылку, начинающуюся с http:// или https://.",
                    "uz": "http:// yoki https:// bilan boshlanadigan havolani kiriting."},
    "user_inactive": {"en": "This user is deactivated.", "ru": "Этот пользователь деактивирован.",
                      "uz": "Bu foydalanuvchi nofaol qilingan."},
    "record_deleted": {"en": "This record is deleted.", "ru": "Эта запись удалена.",
                       "uz": "Bu yozuv o‘chirilgan."},
    "read_only": {"en": "The system fills this field.", "ru": "Это поле заполняет система.",
                  "uz": "Bu maydonni tizim to‘ldiradi."},
    "write_once": {"en": "This field is already filled and can't be changed.",
                   "ru": "Это поле уже заполнено и не может быть изменено.",
                   "uz": "Bu maydon allaqachon to‘ldirilgan, uni o‘zgartirib bo‘lmaydi."},
}


def pick_language(accept_language: str | None) -> str:
    """Choose the best supported language from an Accept-Language header."""
    best, best_q = DEFAULT_LANGUAGE, -1.0
    for part in (accept_language or "").split(","):
        piece = part.strip()
        if not piece:
            continue
        tag, _, params = piece.partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        lang = tag.strip().lower().split("-")[0]
        if lang in LANGUAGES and q > best_q:
            best, best_q = lang, q
    return best


class _Default(dict):
    def __missing__(self, key):
        return "{" + key + "}"


def error_text(code: str, lang: str, params: dict | None = None) -> str:
    """The text of an error code in `lang` (English when the code has no such text)."""
    texts = ERRORS.get(code) or ERRORS["bad_request"]
    return texts.get(lang, texts["en"]).format_map(_Default(params or {}))


def field_text(code: str, lang: str, params: dict | None = None) -> str:
    """The text of a field error code in `lang`."""
    texts = FIELD_ERRORS.get(code) or FIELD_ERRORS["invalid_value"]
    return texts.get(lang, texts["en"]).format_map(_Default(params or {}))


# Notes on deals and clients, the day's task lists (issue 25).
ERRORS.update({
    "note_not_found": {"en": "Note not found.", "ru": "Заметка не найдена.",
                       "uz": "Eslatma topilmadi."},
    "note_author_only": {"en": "Only the note's author or an administrator can change it.",
                         "ru": "Изменить заметку может только её автор или администратор.",
                         "uz": "Eslatmani faqat uning muallifi yoki administrator o‘zgartira oladi."},
})

# User administration (issue 25): a group or role still in use says by how many users (`details.users`).
ERRORS.update({
    "group_not_empty": {"en": "The group still has users: {users}. Move them to another group first.",
                        "ru": "В группе ещё есть пользователи: {users}. Сначала переведите их в другую группу.",
                        "uz": "Guruhda hali foydalanuvchilar bor: {users} ta. Avval ularni boshqa guruhga o‘tkazing."},
    "role_in_use": {"en": "Users still have this role: {users}. Give them another role first.",
                    "ru": "Эта роль ещё назначена пользователям: {users}. Сначала назначьте им другую роль.",
                    "uz": "Bu rol hali foydalanuvchilarga biriktirilgan: {users} ta. Avval ularga boshqa rol bering."},
})

# Reports (issue 28): a period the report can't cover.
ERRORS.update({
    "invalid_period": {"en": "The period's start is after its end.",
                       "ru": "Начало периода позже его конца.",
                       "uz": "Davr boshi uning oxiridan keyin."},
    "period_too_long": {"en": "A report covers at most {max_years} years. Choose a shorter period.",
                        "ru": "Отчёт охватывает не больше {max_years} лет. Выберите период короче.",
                        "uz": "Hisobot ko‘pi bilan {max_years} yilni qamrab oladi. Qisqaroq davrni tanlang."},
})

# The reports' CSV columns (GET /api/v1/reports/funnel.csv and team.csv), in the Accept-Language language.
CSV_COLUMNS: dict[str, dict[str, str]] = {
    "stage": {"en": "Stage", "ru": "Этап", "uz": "Bosqich"},
    "group": {"en": "Group", "ru": "Группа", "uz": "Guruh"},
    "entered": {"en": "Entered", "ru": "Вошли", "uz": "Kirdi"},
    "still_here": {"en": "Still here", "ru": "Остались", "uz": "Qoldi"},
    "moved_on": {"en": "Moved on", "ru": "Ушли дальше", "uz": "O‘tib ketdi"},
    "conversion_to_won": {"en": "Conversion to won", "ru": "Конверсия в успех", "uz": "Muvaffaqiyatga konversiya"},
    "responsible": {"en": "Responsible", "ru": "Ответственный", "uz": "Mas’ul"},
    "open_deals": {"en": "Open deals", "ru": "Открытые сделки", "uz": "Ochiq bitimlar"},
    "open_amount": {"en": "Open amount, UZS", "ru": "Сумма открытых, сум", "uz": "Ochiq bitimlar summasi, so‘m"},
    "won": {"en": "Won", "ru": "Успешные", "uz": "Yutilgan"},
    "won_amount": {"en": "Won amount, UZS", "ru": "Сумма успешных, сум", "uz": "Yutilganlar summasi, so‘m"},
    "lost": {"en": "Lost", "ru": "Проваленные", "uz": "Boy berilgan"},
    "win_rate": {"en": "Win rate", "ru": "Доля успешных", "uz": "Yutish ulushi"},
    "overdue_tasks": {"en": "Overdue tasks", "ru": "Просроченные задачи", "uz": "Muddati o‘tgan vazifalar"},
}
GROUP_NAMES: dict[str, dict[str, str]] = {
    "unprocessed": {"en": "Unprocessed", "ru": "Необработанные", "uz": "Ko‘rib chiqilmagan"},
    "in_progress": {"en": "In progress", "ru": "В работе", "uz": "Jarayonda"},
    "failed": {"en": "Failed", "ru": "Проваленные", "uz": "Muvaffaqiyatsiz"},
    "successful": {"en": "Successful", "ru": "Успешные", "uz": "Muvaffaqiyatli"},
}


def csv_column(key: str, lang: str) -> str:
    texts = CSV_COLUMNS[key]
    return texts.get(lang, texts["en"])


def group_name(key: str, lang: str) -> str:
    texts = GROUP_NAMES.get(key) or {"en": key}
    return texts.get(lang, texts["en"])
