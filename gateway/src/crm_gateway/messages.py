"""Every user-facing text of the API, in English and Russian, keyed by the stable error code."""

from __future__ import annotations

LANGUAGES = ("en", "ru")
DEFAULT_LANGUAGE = "en"

# Error codes (error.code) -> text per language. Format fields come from error.details.
ERRORS: dict[str, dict[str, str]] = {
    "bad_request": {"en": "The request is malformed.", "ru": "Некорректный запрос."},
    "invalid_json": {"en": "The body is not valid JSON.", "ru": "Тело запроса не является корректным JSON."},
    "body_too_large": {"en": "The request body is too large.", "ru": "Тело запроса слишком большое."},
    "validation_failed": {"en": "Some fields are invalid.", "ru": "Некоторые поля заполнены неверно."},
    "unauthenticated": {"en": "Log in to continue.", "ru": "Войдите, чтобы продолжить."},
    "token_invalid": {"en": "The access token is invalid.", "ru": "Токен доступа недействителен."},
    "token_expired": {"en": "The access token has expired.", "ru": "Срок действия токена доступа истёк."},
    "session_ended": {"en": "Your session has ended. Log in again.",
                      "ru": "Ваша сессия завершена. Войдите снова."},
    "invalid_credentials": {"en": "Wrong e-mail or password.", "ru": "Неверная почта или пароль."},
    "crm_id_required": {"en": "This e-mail is used in several CRMs. Choose the CRM ID.",
                        "ru": "Эта почта используется в нескольких CRM. Выберите CRM ID."},
    "refresh_invalid": {"en": "The refresh token is invalid.", "ru": "Токен обновления недействителен."},
    "reset_token_invalid": {"en": "The reset link is invalid or has expired.",
                            "ru": "Ссылка для смены пароля недействительна или устарела."},
    "forbidden": {"en": "Your role does not allow this action.", "ru": "Ваша роль не позволяет это действие."},
    "not_found": {"en": "Not found.", "ru": "Не найдено."},
    "user_not_found": {"en": "User not found.", "ru": "Пользователь не найден."},
    "group_not_found": {"en": "Group not found.", "ru": "Группа не найдена."},
    "role_not_found": {"en": "Role not found.", "ru": "Роль не найдена."},
    "email_taken": {"en": "User with this email already exists",
                    "ru": "Пользователь с такой почтой уже существует"},
    "group_not_empty": {"en": "The group still has users.", "ru": "В группе ещё есть пользователи."},
    "role_in_use": {"en": "Users still have this role.", "ru": "Эта роль ещё назначена пользователям."},
    "role_protected": {"en": "The administrator role cannot lose its rights or be deleted.",
                       "ru": "Роль администратора нельзя удалить или лишить прав."},
    "last_admin": {"en": "The company must keep at least one active administrator.",
                   "ru": "В компании должен остаться хотя бы один активный администратор."},
    # pipeline
    "funnel_not_found": {"en": "Funnel not found.", "ru": "Воронка не найдена."},
    "stage_not_found": {"en": "Stage not found.", "ru": "Этап не найден."},
    "field_not_found": {"en": "Field not found.", "ru": "Поле не найдено."},
    "stale_version": {"en": "Someone else has changed this funnel. Reload it and edit again.",
                      "ru": "Воронку уже изменил кто-то другой. Обновите страницу и внесите изменения снова."},
    "field_key_taken": {"en": "A field with this key already exists.", "ru": "Поле с таким ключом уже существует."},
    "too_many_fields": {"en": "Too many fields: at most {max}.", "ru": "Слишком много полей: не более {max}."},
    "too_many_tasks": {"en": "Too many tasks in one request: at most {max}.",
                       "ru": "Слишком много задач в одном запросе: не более {max}."},
    # billing
    "payment_required": {"en": "The paid period has ended ({paid_until}). Pay in Settings -> Bill and payment to continue.",
                         "ru": "Оплаченный период закончился ({paid_until}). Оплатите в Настройки -> Счёт и оплата, чтобы продолжить."},
    "order_not_found": {"en": "Order not found.", "ru": "Заказ не найден."},
    "order_not_payable": {"en": "This order is not awaiting payment (it is {status}).",
                          "ru": "Этот заказ не ожидает оплаты (статус: {status})."},
    "invoice_rejected": {"en": "CLICK refused the invoice: {note}", "ru": "CLICK отклонил счёт: {note}"},
    "payment_provider_unavailable": {"en": "CLICK is not answering. Try again shortly.",
                                     "ru": "CLICK не отвечает. Повторите попытку чуть позже."},
    # records
    "deal_not_found": {"en": "Deal not found.", "ru": "Сделка не найдена."},
    "client_not_found": {"en": "Client not found.", "ru": "Клиент не найден."},
    "task_not_found": {"en": "Task not found.", "ru": "Задача не найдена."},
    "record_deleted": {"en": "This record is deleted. Restore it first.",
                       "ru": "Эта запись удалена. Сначала восстановите её."},
    "required_fields_missing": {"en": "Fill in the fields required at this stage: {names}.",
                                "ru": "Заполните обязательные на этом этапе поля: {names}."},
    "field_write_once": {"en": "These fields can be filled only once: {names}.",
                         "ru": "Эти поля можно заполнить только один раз: {names}."},
    "read_only_field": {"en": "These fields are filled by the system: {names}.",
                        "ru": "Эти поля заполняет система: {names}."},
    "invalid_cursor": {"en": "The page cursor is invalid. Start from the first page.",
                       "ru": "Некорректный курсор страницы. Начните с первой страницы."},
    "task_type_exists": {"en": "This task type already exists.", "ru": "Такой тип задачи уже существует."},
    "rate_limited": {"en": "Too many requests. Try again in {retry_after} s.",
                     "ru": "Слишком много запросов. Повторите через {retry_after} с."},
    "service_unavailable": {"en": "The service is temporarily unavailable. Try again shortly.",
                            "ru": "Сервис временно недоступен. Повторите попытку чуть позже."},
    "method_not_allowed": {"en": "This method is not allowed here.", "ru": "Этот метод здесь не поддерживается."},
    "idempotency_key_reused": {"en": "This Idempotency-Key was already used with a different request.",
                              "ru": "Этот Idempotency-Key уже использован с другим запросом."},
    "idempotency_in_progress": {"en": "A request with this Idempotency-Key is still being processed.",
                                "ru": "Запрос с этим Idempotency-Key ещё обрабатывается."},
    "process_not_found": {"en": "Business process not found.", "ru": "Бизнес-процесс не найден."},
    "internal": {"en": "Something went wrong on our side.", "ru": "Что-то пошло не так на нашей стороне."},
}

# Field error codes (details.fields[].code) -> text; params come from the field error.
FIELD_ERRORS: dict[str, dict[str, str]] = {
    "required": {"en": "This field is required.", "ru": "Это поле обязательно."},
    "too_long": {"en": "At most {max} characters.", "ru": "Не более {max} символов."},
    "too_short": {"en": "At least {min} characters.", "ru": "Не менее {min} символов."},
    "too_many": {"en": "At most {max} items.", "ru": "Не более {max} элементов."},
    "too_small": {"en": "Must be at least {min}.", "ru": "Должно быть не меньше {min}."},
    "too_large": {"en": "Must be at most {max}.", "ru": "Должно быть не больше {max}."},
    "invalid_email": {"en": "Enter a valid e-mail address.", "ru": "Введите корректный адрес почты."},
    "invalid_type": {"en": "Wrong type of value.", "ru": "Неверный тип значения."},
    "invalid_value": {"en": "Invalid value.", "ru": "Недопустимое значение."},
    "invalid_choice": {"en": "Choose one of the allowed values.", "ru": "Выберите одно из допустимых значений."},
    "invalid_time_zone": {"en": "Unknown time zone.", "ru": "Неизвестный часовой пояс."},
    "wrong_entity": {"en": "This belongs to another kind of record (expected: {entity}).",
                     "ru": "Относится к другому типу записей (нужно: {entity})."},
    "stage_not_in_funnel": {"en": "This stage is not in the chosen funnel.", "ru": "Этого этапа нет в выбранной воронке."},
    "unknown_reference": {"en": "No such object in your company.", "ru": "Такого объекта нет в вашей компании."},
    # phones (F15): billing's invoice phone; the same codes and params as records
    "phone_country_unknown": {"en": "Choose a country from the list.", "ru": "Выберите страну из списка."},
    "phone_digits_only": {"en": "Type only digits, without {dialing_code} and without spaces.",
                          "ru": "Введите только цифры, без {dialing_code} и без пробелов."},
    "phone_length": {"en": "A number in {country} has {lengths} digits after {dialing_code}.",
                     "ru": "Номер в стране {country} содержит {lengths} цифр после {dialing_code}."},
    "phone_invalid": {"en": "This is not a valid {country} number (e.g. {example}).",
                      "ru": "Это некорректный номер для страны {country} (например, {example})."},
    # pipeline
    "invalid_groups": {"en": "The four groups are fixed: list each once, in this order: {groups}.",
                       "ru": "Четыре группы неизменны: укажите каждую один раз в таком порядке: {groups}."},
    "group_empty": {"en": "Each group needs at least one stage.", "ru": "В каждой группе должен быть хотя бы один этап."},
    "invalid_color": {"en": "Enter a color as #RRGGBB.", "ru": "Укажите цвет в формате #RRGGBB."},
    "duplicate": {"en": "This value is repeated.", "ru": "Это значение повторяется."},
    "stage_kept": {"en": "This stage is still in the funnel, so it cannot be removed.",
                   "ru": "Этот этап остаётся в воронке, его нельзя удалить."},
    "invalid_move_target": {"en": "Choose a stage that remains in this funnel.",
                            "ru": "Выберите этап, который остаётся в этой воронке."},
    "removal_target_missing": {"en": "Choose where the records of the removed stage \"{name}\" go.",
                               "ru": "Выберите, куда перенести записи удаляемого этапа «{name}»."},
    "not_allowed": {"en": "Not allowed for this type.", "ru": "Недопустимо для этого типа."},
    "invalid_key": {"en": "Use lowercase Latin letters, digits and _; start with a letter.",
                    "ru": "Используйте строчные латинские буквы, цифры и _; первый символ — буква."},
    "key_reserved": {"en": "This key belongs to a built-in field.", "ru": "Этот ключ занят встроенным полем."},
    "unknown_field": {"en": "There is no field \"{key}\".", "ru": "Поля «{key}» нет."},
    "auto_field": {"en": "The system fills \"{key}\"; it cannot be required or one-time.",
                   "ru": "Поле «{key}» заполняет система; оно не может быть обязательным или однократным."},
    "wrong_field_type": {"en": "\"{key}\" is not a field of type {type}.", "ru": "Поле «{key}» не имеет тип {type}."},
    # records
    "invalid_amount": {"en": "Enter an amount in UZS, e.g. 1500 or 1500.50.",
                       "ru": "Введите сумму в сумах, например 1500 или 1500.50."},
    "too_many_decimals": {"en": "At most {max} digits after the point.", "ru": "Не более {max} знаков после точки."},
    "invalid_number": {"en": "Enter a number.", "ru": "Введите число."},
    "invalid_date": {"en": "Enter a date as YYYY-MM-DD.", "ru": "Введите дату в формате ГГГГ-ММ-ДД."},
    "invalid_datetime": {"en": "Enter a date and time with a time zone, e.g. 2026-01-31T09:00:00Z.",
                         "ru": "Введите дату и время с часовым поясом, например 2026-01-31T09:00:00Z."},
    "invalid_url": {"en": "Enter a link starting with http:// or https://.",
                    "ru": "Введите ссылку, начинающуюся с http:// или https://."},
    "user_inactive": {"en": "This user is deactivated.", "ru": "Этот пользователь деактивирован."},
    "record_deleted": {"en": "This record is deleted.", "ru": "Эта запись удалена."},
    "read_only": {"en": "The system fills this field.", "ru": "Это поле заполняет система."},
    "write_once": {"en": "This field is already filled and can't be changed.",
                   "ru": "Это поле уже заполнено и не может быть изменено."},
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
