"""order function: a batch of orders placed by one server-side call on PostgreSQL

The order desk sends a whole batch to ``gomflow_place_orders`` instead of about nine
round trips per order. Each limit is still one conditional UPDATE whose row count is
checked (DESIGN rule 4), and the group orders of the batch are locked first, in id
order, so two batches on several GOs never deadlock. One buyer's refusal undoes only
their order: what it took is given back at once, on rows this transaction holds locked
(so nobody can have seen or used it), which leaves the rows as a rolled-back savepoint
would. A savepoint per order (a BEGIN … EXCEPTION block, a subtransaction) did the
same, but cost more than the order's own statements (docs/benchmarks.md). The
refusal's numbers are read before anything is given back; Python words the refusal
(``core.reservations``). An unexpected error fails the whole call, and the desk
retries the batch order by order.
SQLite has no server-side functions: there the desk runs the same statements itself.

Revision ID: i1902
Revises: i1601
Create Date: 2026-12-02 17:20:00
"""

from __future__ import annotations

from alembic import op

revision = "i1902"
down_revision = "i1601"
branch_labels = None
depends_on = None

# One entry per order (keys left out when unused):
#   handles [source, id]  mark that inbound update handled first ("handled" if it was)
#   stores "payload"      the update was not stored before: store it, handled, instead
#   go, code, version, limit, units, total, currency, channel, due, buyer, items [[id, n]],
#   variants [[id, n]], lines [[item, variant, n, price]], detail, actor, identity,
#   new_buyer, claim [source, id]
# An entry without "go" only marks its update. Answers, one per entry, in order:
#   {"r": "ok", "id", "seq", "buyer"} · {"r": "marked"} · {"r": "handled"} · {"r": "claimed"}
#   {"r": "go", "status", "deadline", "reserved", "capacity", "version"}
#   {"r": "stock", "table", "name", "stock", "reserved", "quantity"} · {"r": "quota", "held"}
PLACE_ORDERS = r"""
CREATE OR REPLACE FUNCTION gomflow_place_orders(p_batch jsonb, p_now timestamptz)
RETURNS jsonb
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_entry jsonb;
    v_take jsonb;
    v_answer jsonb;
    v_answers jsonb[] := '{}';
    v_go integer;
    v_buyer integer;
    v_owner integer;
    v_units integer;
    v_limit integer;
    v_seq integer;
    v_held integer;
    v_order integer;
    v_count integer;
    v_new integer;
    v_slots boolean;
    v_items integer;
    v_variants integer;
BEGIN
    PERFORM 1 FROM group_orders
     WHERE id IN (SELECT DISTINCT (e ->> 'go')::integer FROM jsonb_array_elements(p_batch) e WHERE e ? 'go')
     ORDER BY id
       FOR NO KEY UPDATE;

    FOR v_entry IN SELECT value FROM jsonb_array_elements(p_batch) LOOP
        v_buyer := (v_entry ->> 'buyer')::integer;
        IF v_entry ? 'identity' THEN
            SELECT i.user_id INTO v_owner FROM identities i
             WHERE i.id = (v_entry ->> 'identity')::integer FOR SHARE;
            IF v_owner IS NOT NULL THEN
                v_buyer := v_owner;
            END IF;
        END IF;
        IF v_entry ? 'handles' AND v_entry ? 'stores' THEN
            INSERT INTO inbound_updates (source, external_id, payload, received_at, handled_at)
            VALUES (v_entry -> 'handles' ->> 0, v_entry -> 'handles' ->> 1, v_entry ->> 'stores',
                    p_now, p_now)
            ON CONFLICT (source, external_id) DO NOTHING;
            GET DIAGNOSTICS v_count = ROW_COUNT;
            IF v_count <> 1 THEN
                v_answers := v_answers || '{"r": "handled"}'::jsonb;
                CONTINUE;
            END IF;
        ELSIF v_entry ? 'handles' THEN
            UPDATE inbound_updates SET handled_at = p_now
             WHERE source = v_entry -> 'handles' ->> 0 AND external_id = v_entry -> 'handles' ->> 1
               AND handled_at IS NULL;
            GET DIAGNOSTICS v_count = ROW_COUNT;
            IF v_count <> 1 THEN
                v_answers := v_answers || '{"r": "handled"}'::jsonb;
                CONTINUE;
            END IF;
        END IF;
        IF NOT v_entry ? 'go' THEN
            v_answers := v_answers || '{"r": "marked"}'::jsonb;
            CONTINUE;
        END IF;
        IF v_entry ? 'claim' THEN
            INSERT INTO processed_inbound (source, external_id, processed_at)
            VALUES (v_entry -> 'claim' ->> 0, v_entry -> 'claim' ->> 1, p_now)
            ON CONFLICT (source, external_id) DO NOTHING;
            GET DIAGNOSTICS v_count = ROW_COUNT;
            IF v_count <> 1 THEN
                v_answers := v_answers || '{"r": "claimed"}'::jsonb;
                CONTINUE;
            END IF;
        END IF;

        v_go := (v_entry ->> 'go')::integer;
        v_units := (v_entry ->> 'units')::integer;
        v_limit := (v_entry ->> 'limit')::integer;
        v_answer := NULL;
        v_new := NULL;
        v_items := 0;
        v_variants := 0;
        IF v_entry ? 'new_buyer' THEN
            INSERT INTO users (display_name, is_gom, created_at, muted)
            VALUES (v_entry ->> 'new_buyer', false, p_now, false) RETURNING id INTO v_buyer;
            v_new := v_buyer;
        END IF;

        UPDATE group_orders SET reserved_units = reserved_units + v_units, order_seq = order_seq + 1
         WHERE id = v_go AND status = 'open' AND deadline > p_now
           AND reserved_units + v_units <= capacity
           AND catalogue_version = (v_entry ->> 'version')::integer
        RETURNING order_seq INTO v_seq;
        GET DIAGNOSTICS v_count = ROW_COUNT;
        v_slots := v_count = 1;
        IF NOT v_slots THEN
            SELECT jsonb_build_object('r', 'go', 'status', g.status, 'deadline', g.deadline,
                                      'reserved', g.reserved_units, 'capacity', g.capacity,
                                      'version', g.catalogue_version)
              INTO v_answer FROM group_orders g WHERE g.id = v_go;
        END IF;

        IF v_answer IS NULL THEN
            FOR v_take IN SELECT value FROM jsonb_array_elements(v_entry -> 'items') LOOP
                UPDATE items SET reserved = reserved + (v_take ->> 1)::integer
                 WHERE id = (v_take ->> 0)::integer
                   AND (stock IS NULL OR reserved + (v_take ->> 1)::integer <= stock);
                GET DIAGNOSTICS v_count = ROW_COUNT;
                IF v_count <> 1 THEN
                    SELECT jsonb_build_object('r', 'stock', 'table', 'items', 'name', t.name,
                                              'stock', t.stock, 'reserved', t.reserved,
                                              'quantity', (v_take ->> 1)::integer)
                      INTO v_answer FROM items t WHERE t.id = (v_take ->> 0)::integer;
                    EXIT;
                END IF;
                v_items := v_items + 1;
            END LOOP;
        END IF;

        IF v_answer IS NULL THEN
            FOR v_take IN SELECT value FROM jsonb_array_elements(v_entry -> 'variants') LOOP
                UPDATE variants SET reserved = reserved + (v_take ->> 1)::integer
                 WHERE id = (v_take ->> 0)::integer
                   AND (stock IS NULL OR reserved + (v_take ->> 1)::integer <= stock);
                GET DIAGNOSTICS v_count = ROW_COUNT;
                IF v_count <> 1 THEN
                    SELECT jsonb_build_object('r', 'stock', 'table', 'variants', 'name', t.name,
                                              'stock', t.stock, 'reserved', t.reserved,
                                              'quantity', (v_take ->> 1)::integer)
                      INTO v_answer FROM variants t WHERE t.id = (v_take ->> 0)::integer;
                    EXIT;
                END IF;
                v_variants := v_variants + 1;
            END LOOP;
        END IF;

        IF v_answer IS NULL THEN
            v_held := NULL;
            IF v_units <= v_limit THEN
                INSERT INTO buyer_quotas AS q (go_id, buyer_id, reserved) VALUES (v_go, v_buyer, v_units)
                ON CONFLICT (go_id, buyer_id) DO UPDATE SET reserved = q.reserved + excluded.reserved
                 WHERE q.reserved + excluded.reserved <= v_limit
                RETURNING q.reserved INTO v_held;
            END IF;
            IF v_held IS NULL THEN
                SELECT jsonb_build_object('r', 'quota', 'held', COALESCE(max(q.reserved), 0))
                  INTO v_answer FROM buyer_quotas q WHERE q.go_id = v_go AND q.buyer_id = v_buyer;
            END IF;
        END IF;

        IF v_answer IS NOT NULL THEN
            -- refused: give back what this order took. Every row it changed is locked by
            -- this transaction until it commits, so nobody saw or took anything meanwhile:
            -- the same rows as a rolled-back savepoint, without a subtransaction per order.
            IF v_slots THEN
                UPDATE group_orders SET reserved_units = reserved_units - v_units, order_seq = order_seq - 1
                 WHERE id = v_go;
            END IF;
            UPDATE items t SET reserved = t.reserved - (x.value ->> 1)::integer
              FROM jsonb_array_elements(v_entry -> 'items') WITH ORDINALITY AS x
             WHERE x.ordinality <= v_items AND t.id = (x.value ->> 0)::integer;
            UPDATE variants t SET reserved = t.reserved - (x.value ->> 1)::integer
              FROM jsonb_array_elements(v_entry -> 'variants') WITH ORDINALITY AS x
             WHERE x.ordinality <= v_variants AND t.id = (x.value ->> 0)::integer;
            IF v_new IS NOT NULL THEN
                DELETE FROM users WHERE id = v_new;
            END IF;
            v_answers := v_answers || v_answer;
            CONTINUE;
        END IF;

        INSERT INTO orders (number, go_id, buyer_id, status, units, total_minor, currency, channel,
                            placed_at, payment_due_at, updated_at)
        VALUES ((v_entry ->> 'code') || '-' || v_seq, v_go, v_buyer, 'placed', v_units,
                (v_entry ->> 'total')::bigint, v_entry ->> 'currency', v_entry ->> 'channel',
                p_now, (v_entry ->> 'due')::timestamptz, p_now)
        RETURNING id INTO v_order;
        INSERT INTO order_lines (order_id, item_id, variant_id, quantity, unit_price_minor)
        SELECT v_order, (l ->> 0)::integer, (l ->> 1)::integer, (l ->> 2)::integer, (l ->> 3)::bigint
          FROM jsonb_array_elements(v_entry -> 'lines') l;
        INSERT INTO audit_log (at, actor_id, entity, entity_id, action, from_status, to_status, detail)
        VALUES (p_now, COALESCE((v_entry ->> 'actor')::integer, v_buyer), 'order', v_order, 'placed',
                NULL, 'placed', v_entry ->> 'detail');
        v_answer := jsonb_build_object('r', 'ok', 'id', v_order, 'seq', v_seq, 'buyer', v_buyer);
        v_answers := v_answers || v_answer;
    END LOOP;
    RETURN to_jsonb(v_answers);
END;
$fn$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PLACE_ORDERS)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS gomflow_place_orders(jsonb, timestamptz)")
