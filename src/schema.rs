// @generated automatically by Diesel CLI.

diesel::table! {
    alerts (id) {
        id -> Text,
        case_id -> Text,
        kind -> Text,
        stage -> Text,
        state -> Text,
        episode -> Text,
        raised_at -> Timestamp,
        acknowledged_by -> Nullable<Text>,
        acknowledged_at -> Nullable<Timestamp>,
        escalated_at -> Nullable<Timestamp>,
        resolved_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Text,
        shelter_id -> Text,
        label -> Text,
        prefix -> Text,
        key_hash -> Text,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        window_start -> Nullable<Timestamp>,
        window_count -> Integer,
    }
}

diesel::table! {
    audit_head (id) {
        id -> Integer,
        last_id -> Integer,
        last_hash -> Text,
        mac -> Nullable<Text>,
        keyed_from -> Nullable<Integer>,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Integer,
        at -> Timestamp,
        actor_kind -> Text,
        actor_id -> Nullable<Text>,
        action -> Text,
        case_id -> Nullable<Text>,
        target -> Nullable<Text>,
        request_id -> Nullable<Text>,
        prev_hash -> Text,
        hash -> Text,
        mac -> Nullable<Text>,
    }
}

diesel::table! {
    bad_key_attempts (id) {
        id -> Text,
        client_key -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    case_consents (id) {
        id -> Text,
        case_id -> Text,
        scope -> Text,
        given -> Bool,
        method -> Text,
        recorded_by -> Nullable<Text>,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    case_documents (id) {
        id -> Text,
        case_id -> Text,
        kind -> Text,
        country -> Text,
        status -> Text,
        applied_on -> Nullable<Date>,
        appointment_at -> Nullable<Timestamp>,
        expected_by -> Nullable<Date>,
        valid_until -> Nullable<Date>,
        held_by -> Nullable<Text>,
        number_sealed -> Nullable<Binary>,
        alert_at -> Nullable<Timestamp>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    case_legs (id) {
        id -> Text,
        case_id -> Text,
        mode -> Text,
        from_city -> Text,
        from_country -> Text,
        to_city -> Text,
        to_country -> Text,
        depart_at -> Timestamp,
        arrive_by -> Timestamp,
        status -> Text,
        carrier -> Nullable<Text>,
        cost_amount -> Nullable<Text>,
        cost_currency -> Nullable<Text>,
        booking_sealed -> Nullable<Binary>,
        to_shelter_id -> Nullable<Text>,
        alert_at -> Nullable<Timestamp>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    case_expenses (id) {
        id -> Text,
        case_id -> Text,
        category -> Text,
        amount -> Text,
        currency -> Text,
        amount_e4 -> BigInt,
        spent_on -> Date,
        note_sealed -> Nullable<Binary>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    case_events (id) {
        id -> Text,
        case_id -> Text,
        kind -> Text,
        at -> Timestamp,
        actor_kind -> Text,
        actor_id -> Nullable<Text>,
        actor_name -> Nullable<Text>,
        from_stage -> Nullable<Text>,
        to_stage -> Nullable<Text>,
        shelter_id -> Nullable<Text>,
        detail -> Nullable<Text>,
    }
}

diesel::table! {
    case_keys (case_id) {
        case_id -> Text,
        wrapped_key -> Nullable<Binary>,
        key_version -> Integer,
        created_at -> Timestamp,
        shredded_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    case_personal (case_id) {
        case_id -> Text,
        legal_name -> Nullable<Binary>,
        alias -> Nullable<Binary>,
        date_of_birth -> Nullable<Binary>,
        contacts -> Nullable<Binary>,
        notes -> Nullable<Binary>,
        duplicate_key -> Nullable<Text>,
        version -> Integer,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    cases (id) {
        id -> Text,
        code -> Text,
        stage -> Text,
        outcome -> Nullable<Text>,
        risk_level -> Text,
        household_size -> Integer,
        needs -> Text,
        origin_region -> Nullable<Text>,
        destination_country -> Nullable<Text>,
        shelter_id -> Nullable<Text>,
        assigned_to -> Nullable<Text>,
        stage_entered_at -> Timestamp,
        last_contact_at -> Nullable<Timestamp>,
        snoozed_until -> Nullable<Timestamp>,
        stall_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
        scan_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    data_steps (name) {
        name -> Text,
        done_at -> Timestamp,
    }
}

diesel::table! {
    digest_runs (week) {
        week -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    event_notes (event_id) {
        event_id -> Text,
        case_id -> Text,
        sealed -> Binary,
    }
}

diesel::table! {
    idempotency_keys (principal, key_hash) {
        principal -> Text,
        key_hash -> Text,
        fingerprint -> Text,
        state -> Text,
        wrapped_key -> Nullable<Binary>,
        response -> Nullable<Binary>,
        created_at -> Timestamp,
        case_id -> Nullable<Text>,
    }
}

diesel::table! {
    login_failures (id) {
        id -> Text,
        account_key -> Text,
        at -> Timestamp,
        client_key -> Text,
    }
}

diesel::table! {
    outbox (id) {
        id -> Text,
        dedupe_key -> Text,
        recipient -> Text,
        subject -> Text,
        text_body -> Text,
        html_body -> Text,
        created_at -> Timestamp,
        next_attempt_at -> Timestamp,
        attempts -> Integer,
        last_error -> Nullable<Text>,
        sent_at -> Nullable<Timestamp>,
        dead_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> Text,
        refresh_hash -> Text,
        created_at -> Timestamp,
        refreshed_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    settings (name) {
        name -> Text,
        value -> Text,
    }
}

diesel::table! {
    shelters (id) {
        id -> Text,
        name -> Text,
        city -> Nullable<Text>,
        country -> Text,
        capacity -> Integer,
        contact_email -> Nullable<Text>,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
        email_label -> Nullable<Text>,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        display_name -> Text,
        role -> Text,
        password_hash -> Text,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    vault (id) {
        id -> Integer,
        check_value -> Binary,
        mac_key -> Binary,
        created_at -> Timestamp,
        rotated_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(alerts -> cases (case_id));
diesel::joinable!(alerts -> users (acknowledged_by));
diesel::joinable!(api_keys -> shelters (shelter_id));
diesel::joinable!(api_keys -> users (created_by));
diesel::joinable!(case_consents -> cases (case_id));
diesel::joinable!(case_documents -> cases (case_id));
diesel::joinable!(case_events -> cases (case_id));
diesel::joinable!(case_expenses -> cases (case_id));
diesel::joinable!(case_legs -> cases (case_id));
diesel::joinable!(case_legs -> shelters (to_shelter_id));
diesel::joinable!(case_keys -> cases (case_id));
diesel::joinable!(case_personal -> cases (case_id));
diesel::joinable!(cases -> shelters (shelter_id));
diesel::joinable!(cases -> users (assigned_to));
diesel::joinable!(event_notes -> case_events (event_id));
diesel::joinable!(event_notes -> cases (case_id));
diesel::joinable!(sessions -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    alerts,
    api_keys,
    audit_head,
    audit_log,
    bad_key_attempts,
    case_consents,
    case_documents,
    case_events,
    case_expenses,
    case_keys,
    case_legs,
    case_personal,
    cases,
    data_steps,
    digest_runs,
    event_notes,
    idempotency_keys,
    login_failures,
    outbox,
    sessions,
    settings,
    shelters,
    users,
    vault,
);
