"""order function: a batch takes the group order's and the items' units last, in one
UPDATE each, so two workers' batches on one hot GO overlap instead of taking turns

``gomflow_place_orders`` (migration ``i1902``) locked the batch's group orders first and
held them through every order's statements, about seven per order, to the commit: two
workers' batches on one GO ran one after the other. Now a batch first writes what is
its own — the inbound marks, new buyers, each order with its lines and audit row (under
a number of its own until the GO gives it one) — and only then takes the limits,
together for the whole batch (``gomflow_take_together``): one conditional UPDATE per
group order for the batch's units and numbers, one per item and per version for the
batch's units of it, in id order, and one INSERT … ON CONFLICT for the buyers' quotas.
If every take changed its row, every order fits in arrival order (each limit only
grows with the orders before it), and the hot rows were held for those few statements,
the orders' numbers and the commit.

If one take does not fit, the batch gives back what it took (on rows it holds locked,
so nobody saw it), locks its group orders in id order and decides the orders in their
arrival order exactly as ``i1902`` did, each limit one conditional UPDATE with the
refusal's numbers read under the lock (``gomflow_take_in_turn``); a refused order's rows
are deleted in the same transaction. A batch that plainly does not fit as the rows stand
committed (a sold-out or closed GO: ``gomflow_batch_fits``, a read without locks that
only picks the way) is decided in turn straight away and writes only its placed orders,
as ``i1902`` did, rather than writing and deleting its refusals. Every writer of these
rows takes them in the same order — group order, items in id order, versions in id
order, quotas — so two batches, or a batch and a GOM's edit or a cancellation, never
deadlock.

Revision ID: i1907
Revises: i1803
Create Date: 2026-12-03 14:00:00
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from alembic import op

revision = "i1907"
down_revision = "i1803"
branch_labels = None
depends_on = None

# Entries and answers as in i1902.
PLACE_ORDERS = r"""
CREATE OR REPLACE FUNCTION gomflow_place_orders(p_batch jsonb, p_now timestamptz)
RETURNS jsonb
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_entry jsonb;
    v_at integer := -1;
    v_answers jsonb[] := '{}';
    v_buyer integer;
    v_owner integer;
    v_new integer;
    v_count integer;
    v_places integer[] := '{}';  -- the entries that are orders, by their place in p_batch
    v_orders integer[];
    v_buyers integer[] := '{}';
    v_news integer[] := '{}';
    v_seqs integer[];
    v_outcomes jsonb[];          -- per order: {"seq": n}, or its refusal
BEGIN
    FOR v_entry IN SELECT value FROM jsonb_array_elements(p_batch) LOOP
        v_at := v_at + 1;
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

        v_new := NULL;
        IF v_entry ? 'new_buyer' THEN
            INSERT INTO users (display_name, is_gom, created_at, muted)
            VALUES (v_entry ->> 'new_buyer', false, p_now, false) RETURNING id INTO v_buyer;
            v_new := v_buyer;
        END IF;
        v_answers := v_answers || 'null'::jsonb;
        v_places := v_places || v_at;
        v_buyers := v_buyers || v_buyer;
        v_news := v_news || v_new;
    END LOOP;
    IF cardinality(v_places) = 0 THEN
        RETURN to_jsonb(v_answers);
    END IF;

    IF gomflow_batch_fits(p_batch, p_now, v_places, v_buyers) THEN
        -- the orders first, under numbers of their own; the hot rows last, together
        v_orders := gomflow_write_orders(p_batch, p_now, v_places, v_buyers, NULL);
        v_seqs := gomflow_take_together(p_batch, p_now, v_places, v_buyers);
        IF v_seqs IS NOT NULL THEN
            SELECT array_agg(jsonb_build_object('seq', s.seq) ORDER BY s.n) INTO v_outcomes
              FROM unnest(v_seqs) WITH ORDINALITY AS s(seq, n);
        ELSE  -- taken meanwhile by another batch: decided in turn, refused orders taken back
            v_outcomes := gomflow_take_in_turn(p_batch, p_now, v_places, v_buyers);
            DELETE FROM audit_log a USING unnest(v_orders, v_outcomes) AS w(id, outcome)
             WHERE NOT w.outcome ? 'seq' AND a.entity = 'order' AND a.entity_id = w.id;
            DELETE FROM orders o USING unnest(v_orders, v_outcomes) AS w(id, outcome)
             WHERE NOT w.outcome ? 'seq' AND o.id = w.id;
        END IF;
        UPDATE orders o SET number = (p_batch -> w.place ->> 'code') || '-' || (w.outcome ->> 'seq')
          FROM unnest(v_places, v_orders, v_outcomes) AS w(place, id, outcome)
         WHERE o.id = w.id AND w.outcome ? 'seq';
    ELSE
        -- plainly not all fit (sold out, closed, changed): decided in turn under the lock,
        -- and only the placed orders are written, as i1902 did
        v_outcomes := gomflow_take_in_turn(p_batch, p_now, v_places, v_buyers);
        v_orders := gomflow_write_orders(p_batch, p_now, v_places, v_buyers, v_outcomes);
    END IF;
    IF v_seqs IS NULL THEN  -- a buyer made for a refused order is not kept
        DELETE FROM users u USING unnest(v_news, v_outcomes) AS w(id, outcome)
         WHERE NOT w.outcome ? 'seq' AND u.id = w.id;
    END IF;

    RETURN (
        SELECT jsonb_agg(COALESCE(o.answer, a.answer) ORDER BY a.n)
          FROM unnest(v_answers) WITH ORDINALITY AS a(answer, n)
          LEFT JOIN (SELECT w.place + 1 AS n,
                            CASE WHEN w.outcome ? 'seq'
                                 THEN jsonb_build_object('r', 'ok', 'id', w.id,
                                                         'seq', (w.outcome ->> 'seq')::integer,
                                                         'buyer', w.buyer)
                                 ELSE w.outcome END AS answer
                       FROM unnest(v_places, v_orders, v_outcomes, v_buyers)
                            AS w(place, id, outcome, buyer)) o
            ON o.n = a.n);
END;
$fn$
"""

# Whether the batch's totals fit as the rows stand committed, read without a lock. It
# only picks the way: a batch that fits is written first and takes its limits together;
# one that plainly does not (a sold-out or closed GO) is decided in turn straight away,
# so its refused orders are never written and taken back. Either way the decisions are
# made under the lock.
BATCH_FITS = r"""
CREATE OR REPLACE FUNCTION gomflow_batch_fits(
    p_batch jsonb, p_now timestamptz, p_places integer[], p_buyers integer[]
) RETURNS boolean
LANGUAGE sql STABLE
AS $fn$
    WITH waiting AS (
        SELECT p_batch -> w.place AS e, w.buyer FROM unnest(p_places, p_buyers) AS w(place, buyer)
    ), gos AS (
        SELECT (e ->> 'go')::integer AS id, sum((e ->> 'units')::integer) AS units,
               min((e ->> 'version')::integer) AS version, max((e ->> 'version')::integer) AS newest
          FROM waiting GROUP BY 1
    ), takes AS (
        SELECT 'items' AS tab, (t ->> 0)::integer AS id, sum((t ->> 1)::integer) AS units
          FROM waiting, jsonb_array_elements(e -> 'items') t GROUP BY 1, 2
        UNION ALL
        SELECT 'variants', (t ->> 0)::integer, sum((t ->> 1)::integer)
          FROM waiting, jsonb_array_elements(e -> 'variants') t GROUP BY 1, 2
    ), quotas AS (
        SELECT (e ->> 'go')::integer AS go, buyer, sum((e ->> 'units')::integer) AS units,
               min((e ->> 'limit')::integer) AS lim
          FROM waiting GROUP BY 1, 2
    )
    SELECT NOT EXISTS (
               SELECT 1 FROM gos LEFT JOIN group_orders g ON g.id = gos.id
                WHERE g.id IS NULL OR g.status <> 'open' OR g.deadline <= p_now
                   OR gos.version <> gos.newest OR g.catalogue_version <> gos.version
                   OR g.reserved_units + gos.units > g.capacity)
       AND NOT EXISTS (
               SELECT 1 FROM takes t
                 LEFT JOIN items i ON t.tab = 'items' AND i.id = t.id
                 LEFT JOIN variants v ON t.tab = 'variants' AND v.id = t.id
                WHERE COALESCE(i.reserved, v.reserved) + t.units > COALESCE(i.stock, v.stock))
       AND NOT EXISTS (
               SELECT 1 FROM quotas q LEFT JOIN buyer_quotas b ON b.go_id = q.go AND b.buyer_id = q.buyer
                WHERE COALESCE(b.reserved, 0) + q.units > q.lim)
$fn$
"""

# Each waiting order's row, its lines and its audit row; the order ids, NULL where none
# was written. Without outcomes every order is written under a number of its own, unique
# and seen by nobody until the GO numbers the batch; with them, only the placed ones,
# under their numbers.
WRITE_ORDERS = r"""
CREATE OR REPLACE FUNCTION gomflow_write_orders(
    p_batch jsonb, p_now timestamptz, p_places integer[], p_buyers integer[], p_outcomes jsonb[]
) RETURNS integer[]
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_entry jsonb;
    v_number text;
    v_order integer;
    v_orders integer[] := '{}';
    v_xact text := txid_current()::text;
BEGIN
    FOR v_k IN 1 .. cardinality(p_places) LOOP
        v_entry := p_batch -> p_places[v_k];
        IF p_outcomes IS NULL THEN
            v_number := '~' || v_xact || '.' || p_places[v_k];
        ELSIF p_outcomes[v_k] ? 'seq' THEN
            v_number := (v_entry ->> 'code') || '-' || (p_outcomes[v_k] ->> 'seq');
        ELSE
            v_orders := v_orders || NULL::integer;
            CONTINUE;
        END IF;
        INSERT INTO orders (number, go_id, buyer_id, status, units, total_minor, currency, channel,
                            placed_at, payment_due_at, updated_at)
        VALUES (v_number, (v_entry ->> 'go')::integer, p_buyers[v_k], 'placed',
                (v_entry ->> 'units')::integer, (v_entry ->> 'total')::bigint, v_entry ->> 'currency',
                v_entry ->> 'channel', p_now, (v_entry ->> 'due')::timestamptz, p_now)
        RETURNING id INTO v_order;
        INSERT INTO order_lines (order_id, item_id, variant_id, quantity, unit_price_minor)
        SELECT v_order, (l ->> 0)::integer, (l ->> 1)::integer, (l ->> 2)::integer, (l ->> 3)::bigint
          FROM jsonb_array_elements(v_entry -> 'lines') l;
        INSERT INTO audit_log (at, actor_id, entity, entity_id, action, from_status, to_status, detail)
        VALUES (p_now, COALESCE((v_entry ->> 'actor')::integer, p_buyers[v_k]), 'order', v_order,
                'placed', NULL, 'placed', v_entry ->> 'detail');
        v_orders := v_orders || v_order;
    END LOOP;
    RETURN v_orders;
END;
$fn$
"""

# The whole batch's limits in one conditional statement each: the orders' numbers in
# their GO, in the order of p_places, or NULL with nothing taken when one does not fit.
TAKE_TOGETHER = r"""
CREATE OR REPLACE FUNCTION gomflow_take_together(
    p_batch jsonb, p_now timestamptz, p_places integer[], p_buyers integer[]
) RETURNS integer[]
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_row record;
    v_last integer;
    v_gos integer[] := '{}';          -- taken so far, to give back if a later take fails
    v_go_units integer[] := '{}';
    v_go_orders integer[] := '{}';
    v_go_last integer[] := '{}';
    v_limits integer[] := '{}';
    v_items integer[] := '{}';
    v_item_units integer[] := '{}';
    v_variants integer[] := '{}';
    v_variant_units integer[] := '{}';
    v_asked integer;
    v_quota_gos integer[];
    v_quota_buyers integer[];
    v_seqs integer[];
BEGIN
    -- a buyer asking more than the limit in this batch is told so in turn, with numbers
    IF EXISTS (SELECT 1 FROM unnest(p_places, p_buyers) AS w(place, buyer)
                GROUP BY p_batch -> w.place ->> 'go', w.buyer
               HAVING sum((p_batch -> w.place ->> 'units')::integer)
                      > min((p_batch -> w.place ->> 'limit')::integer)) THEN
        RETURN NULL;
    END IF;

    <<take>>
    BEGIN
        FOR v_row IN
            SELECT (p_batch -> w.place ->> 'go')::integer AS go,
                   sum((p_batch -> w.place ->> 'units')::integer) AS units, count(*) AS orders,
                   min((p_batch -> w.place ->> 'version')::integer) AS version,
                   max((p_batch -> w.place ->> 'version')::integer) AS newest,
                   min((p_batch -> w.place ->> 'limit')::integer) AS lowest,
                   max((p_batch -> w.place ->> 'limit')::integer) AS highest
              FROM unnest(p_places) AS w(place)
             GROUP BY 1 ORDER BY 1
        LOOP
            EXIT take WHEN v_row.version <> v_row.newest OR v_row.lowest <> v_row.highest;
            UPDATE group_orders
               SET reserved_units = reserved_units + v_row.units, order_seq = order_seq + v_row.orders
             WHERE id = v_row.go AND status = 'open' AND deadline > p_now
               AND reserved_units + v_row.units <= capacity AND catalogue_version = v_row.version
            RETURNING order_seq INTO v_last;
            EXIT take WHEN NOT FOUND;
            v_gos := v_gos || v_row.go;
            v_go_units := v_go_units || v_row.units::integer;
            v_go_orders := v_go_orders || v_row.orders::integer;
            v_go_last := v_go_last || v_last;
            v_limits := v_limits || v_row.lowest;
        END LOOP;

        FOR v_row IN
            SELECT (t ->> 0)::integer AS id, sum((t ->> 1)::integer) AS units
              FROM unnest(p_places) AS w(place), jsonb_array_elements(p_batch -> w.place -> 'items') t
             GROUP BY 1 ORDER BY 1
        LOOP
            UPDATE items SET reserved = reserved + v_row.units
             WHERE id = v_row.id AND (stock IS NULL OR reserved + v_row.units <= stock);
            EXIT take WHEN NOT FOUND;
            v_items := v_items || v_row.id;
            v_item_units := v_item_units || v_row.units::integer;
        END LOOP;

        FOR v_row IN
            SELECT (t ->> 0)::integer AS id, sum((t ->> 1)::integer) AS units
              FROM unnest(p_places) AS w(place), jsonb_array_elements(p_batch -> w.place -> 'variants') t
             GROUP BY 1 ORDER BY 1
        LOOP
            UPDATE variants SET reserved = reserved + v_row.units
             WHERE id = v_row.id AND (stock IS NULL OR reserved + v_row.units <= stock);
            EXIT take WHEN NOT FOUND;
            v_variants := v_variants || v_row.id;
            v_variant_units := v_variant_units || v_row.units::integer;
        END LOOP;

        WITH asked AS (
            SELECT (p_batch -> w.place ->> 'go')::integer AS go, w.buyer,
                   sum((p_batch -> w.place ->> 'units')::integer) AS units
              FROM unnest(p_places, p_buyers) AS w(place, buyer)
             GROUP BY 1, 2
        ), taken AS (
            INSERT INTO buyer_quotas AS q (go_id, buyer_id, reserved)
            SELECT a.go, a.buyer, a.units FROM asked a ORDER BY a.go, a.buyer
            ON CONFLICT (go_id, buyer_id) DO UPDATE SET reserved = q.reserved + excluded.reserved
             WHERE q.reserved + excluded.reserved <= v_limits[array_position(v_gos, q.go_id)]
            RETURNING q.go_id, q.buyer_id
        )
        SELECT (SELECT count(*) FROM asked), array_agg(t.go_id), array_agg(t.buyer_id)
          INTO v_asked, v_quota_gos, v_quota_buyers
          FROM taken t;
        IF COALESCE(cardinality(v_quota_gos), 0) <> v_asked THEN
            UPDATE buyer_quotas q SET reserved = q.reserved - a.units
              FROM (SELECT (p_batch -> w.place ->> 'go')::integer AS go, w.buyer,
                           sum((p_batch -> w.place ->> 'units')::integer) AS units
                      FROM unnest(p_places, p_buyers) AS w(place, buyer)
                     GROUP BY 1, 2) a,
                   unnest(v_quota_gos, v_quota_buyers) AS t(go, buyer)
             WHERE q.go_id = t.go AND q.buyer_id = t.buyer AND a.go = t.go AND a.buyer = t.buyer;
            EXIT take;
        END IF;

        -- every take fitted: the GO's new numbers, in arrival order
        SELECT array_agg(v_go_last[g] - v_go_orders[g] + s.rank ORDER BY s.n) INTO v_seqs
          FROM (SELECT w.n, array_position(v_gos, (p_batch -> w.place ->> 'go')::integer) AS g,
                       row_number() OVER (PARTITION BY p_batch -> w.place ->> 'go' ORDER BY w.n) AS rank
                  FROM unnest(p_places) WITH ORDINALITY AS w(place, n)) s;
        RETURN v_seqs;
    END take;

    -- one did not fit: give back what was taken, on rows this transaction holds locked
    UPDATE group_orders g SET reserved_units = g.reserved_units - t.units, order_seq = g.order_seq - t.orders
      FROM unnest(v_gos, v_go_units, v_go_orders) AS t(id, units, orders) WHERE g.id = t.id;
    UPDATE items i SET reserved = i.reserved - t.units
      FROM unnest(v_items, v_item_units) AS t(id, units) WHERE i.id = t.id;
    UPDATE variants v SET reserved = v.reserved - t.units
      FROM unnest(v_variants, v_variant_units) AS t(id, units) WHERE v.id = t.id;
    RETURN NULL;
END;
$fn$
"""

# Order by order in arrival order, as i1902 did, with the batch's group orders locked
# first: per order {"seq": n}, or the refusal's answer with its numbers.
TAKE_IN_TURN = r"""
CREATE OR REPLACE FUNCTION gomflow_take_in_turn(
    p_batch jsonb, p_now timestamptz, p_places integer[], p_buyers integer[]
) RETURNS jsonb[]
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_outcomes jsonb[] := '{}';
    v_entry jsonb;
    v_take jsonb;
    v_answer jsonb;
    v_k integer;
    v_go integer;
    v_buyer integer;
    v_units integer;
    v_limit integer;
    v_seq integer;
    v_held integer;
    v_count integer;
    v_slots boolean;
    v_items integer;
    v_variants integer;
BEGIN
    PERFORM 1 FROM group_orders
     WHERE id IN (SELECT DISTINCT (p_batch -> w.place ->> 'go')::integer FROM unnest(p_places) AS w(place))
     ORDER BY id
       FOR NO KEY UPDATE;

    FOR v_k IN 1 .. cardinality(p_places) LOOP
        v_entry := p_batch -> p_places[v_k];
        v_buyer := p_buyers[v_k];
        v_go := (v_entry ->> 'go')::integer;
        v_units := (v_entry ->> 'units')::integer;
        v_limit := (v_entry ->> 'limit')::integer;
        v_answer := NULL;
        v_items := 0;
        v_variants := 0;

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
            -- refused: give back what this order took, on rows this transaction holds locked
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
            v_outcomes := v_outcomes || v_answer;
        ELSE
            v_outcomes := v_outcomes || jsonb_build_object('seq', v_seq);
        END IF;
    END LOOP;
    RETURN v_outcomes;
END;
$fn$
"""


def _i1902_function() -> str:
    """i1902's text of ``gomflow_place_orders``, read from its own migration, not copied."""
    path = Path(__file__).with_name("i1902_order_function.py")
    spec = importlib.util.spec_from_file_location("i1902", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.PLACE_ORDERS)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for function in (BATCH_FITS, WRITE_ORDERS, TAKE_TOGETHER, TAKE_IN_TURN, PLACE_ORDERS):
            op.execute(function)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_i1902_function())
        for helper in ("batch_fits", "take_together", "take_in_turn"):
            op.execute(f"DROP FUNCTION IF EXISTS gomflow_{helper}(jsonb, timestamptz, integer[], integer[])")
        op.execute(
            "DROP FUNCTION IF EXISTS gomflow_write_orders(jsonb, timestamptz, integer[], integer[], jsonb[])"
        )
