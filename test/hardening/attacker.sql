-- Objects an attacker who can CREATE in public puts on everyone's
-- search_path (test/shell/privileges.sh).  Each logs who ran it into
-- public.pz_pwned (anyone may insert) and returns a wrong answer.
CREATE TABLE public.pz_pwned (who text, what text);
GRANT INSERT, SELECT ON public.pz_pwned TO PUBLIC;

CREATE FUNCTION public.pz_log(what text) RETURNS void LANGUAGE sql
AS $$ INSERT INTO public.pz_pwned VALUES (current_user, what) $$;

-- built-ins with the very same signature (lose to pg_catalog unless the
-- victim puts public first) and with more specific ones (win by type match
-- for any unqualified call with those argument types)
CREATE FUNCTION public.lower(text) RETURNS text LANGUAGE plpgsql
AS $$ BEGIN PERFORM public.pz_log('lower(text)'); RETURN 'pwned'; END $$;
CREATE FUNCTION public.lower(varchar) RETURNS text LANGUAGE plpgsql
AS $$ BEGIN PERFORM public.pz_log('lower(varchar)'); RETURN 'pwned'; END $$;
CREATE FUNCTION public.btrim(text) RETURNS text LANGUAGE plpgsql
AS $$ BEGIN PERFORM public.pz_log('btrim(text)'); RETURN 'pwned'; END $$;
CREATE FUNCTION public.date_trunc(text, timestamp) RETURNS timestamp LANGUAGE plpgsql
AS $$ BEGIN PERFORM public.pz_log('date_trunc(text,timestamp)'); RETURN '2000-01-03'; END $$;
CREATE FUNCTION public.date_trunc(text, date) RETURNS timestamp LANGUAGE plpgsql
AS $$ BEGIN PERFORM public.pz_log('date_trunc(text,date)'); RETURN '2000-01-03'; END $$;
CREATE FUNCTION public.format(text, text, bigint, bigint, bigint, bigint, bigint) RETURNS text LANGUAGE plpgsql
AS $$ BEGIN PERFORM public.pz_log('format'); RETURN 'sessions|0|0|0|0|0'; END $$;
CREATE FUNCTION public.jsonb_typeof(jsonb) RETURNS text LANGUAGE plpgsql
AS $$ BEGIN PERFORM public.pz_log('jsonb_typeof'); RETURN 'object'; END $$;
CREATE FUNCTION public.jsonb_build_object(text, text, text, jsonb) RETURNS jsonb LANGUAGE plpgsql
AS $$ BEGIN PERFORM public.pz_log('jsonb_build_object'); RETURN '{"model": "pwned"}'; END $$;
CREATE FUNCTION public.coalesce_(jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT $1 $$;
CREATE FUNCTION public.greatest(date, date) RETURNS date LANGUAGE plpgsql
AS $$ BEGIN PERFORM public.pz_log('greatest'); RETURN '2000-01-03'; END $$;
CREATE FUNCTION public.now() RETURNS timestamptz LANGUAGE plpgsql
AS $$ BEGIN PERFORM public.pz_log('now'); RETURN '2000-01-01'; END $$;
CREATE FUNCTION public.has_table_privilege(text, text) RETURNS boolean LANGUAGE plpgsql
AS $$ BEGIN PERFORM public.pz_log('has_table_privilege'); RETURN true; END $$;
CREATE FUNCTION public.unnest(text[], date[]) RETURNS TABLE (a text, b date) LANGUAGE plpgsql
AS $$ BEGIN PERFORM public.pz_log('unnest'); END $$;

-- aggregates: count over text/date, sum over bigint, array_agg over text
CREATE FUNCTION public.pz_cnt(bigint, text) RETURNS bigint LANGUAGE plpgsql
AS $$ BEGIN PERFORM public.pz_log('count(text)'); RETURN 1000; END $$;
CREATE AGGREGATE public.count(text) (SFUNC = public.pz_cnt, STYPE = bigint, INITCOND = '0');
CREATE FUNCTION public.pz_cnt_all(bigint) RETURNS bigint LANGUAGE plpgsql
AS $$ BEGIN PERFORM public.pz_log('count(*)'); RETURN 1000; END $$;
CREATE AGGREGATE public.count(*) (SFUNC = public.pz_cnt_all, STYPE = bigint, INITCOND = '0');
CREATE FUNCTION public.pz_sum(bigint, bigint) RETURNS bigint LANGUAGE plpgsql
AS $$ BEGIN PERFORM public.pz_log('sum(bigint)'); RETURN 1000; END $$;
CREATE AGGREGATE public.sum(bigint) (SFUNC = public.pz_sum, STYPE = bigint);
CREATE FUNCTION public.pz_max(date, date) RETURNS date LANGUAGE plpgsql
AS $$ BEGIN PERFORM public.pz_log('max(date)'); RETURN '2000-01-03'; END $$;
CREATE AGGREGATE public.max(date) (SFUNC = public.pz_max, STYPE = date);

-- operators: = and < for text, = for (text, varchar), + for (date, integer)
CREATE FUNCTION public.pz_texteq(text, text) RETURNS boolean LANGUAGE plpgsql
AS $$ BEGIN PERFORM public.pz_log('= (text,text)'); RETURN true; END $$;
CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = text, FUNCTION = public.pz_texteq);
CREATE OPERATOR public.< (LEFTARG = text, RIGHTARG = text, FUNCTION = public.pz_texteq);
CREATE FUNCTION public.pz_textvceq(text, varchar) RETURNS boolean LANGUAGE plpgsql
AS $$ BEGIN PERFORM public.pz_log('= (text,varchar)'); RETURN true; END $$;
CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = varchar, FUNCTION = public.pz_textvceq);
CREATE FUNCTION public.pz_dateplus(date, integer) RETURNS date LANGUAGE plpgsql
AS $$ BEGIN PERFORM public.pz_log('+ (date,int)'); RETURN '2000-01-03'; END $$;
CREATE OPERATOR public.+ (LEFTARG = date, RIGHTARG = integer, FUNCTION = public.pz_dateplus);
CREATE FUNCTION public.pz_dateminus(date, integer) RETURNS date LANGUAGE plpgsql
AS $$ BEGIN PERFORM public.pz_log('- (date,int)'); RETURN '2000-01-03'; END $$;
CREATE OPERATOR public.- (LEFTARG = date, RIGHTARG = integer, FUNCTION = public.pz_dateminus);

-- a table shadowing the importer's temporary staging table
CREATE TABLE public.pz_import_lines (line_no bigserial, line text);
GRANT ALL ON public.pz_import_lines TO PUBLIC;
