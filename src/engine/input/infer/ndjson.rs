//! NDJSON inference: polars' inference over the sample (which unions the
//! keys and widens their types), then the text rules: ISO dates and
//! numbers written with null spellings, as in CSV. JSON has no leading-zero
//! numbers, and a key's strings are text by their author's choice.

use std::io::Cursor;

use polars::prelude::*;

use crate::engine::error::{QuarryError, Result};
use crate::engine::input::file::head_bytes;
use crate::engine::input::source::{FileDrift, Source};

use super::null_tokens::{read_null_tokens, NULL_TOKENS};
use super::sample::{join_samples, sample};
use super::temporal::read_iso_dates;
use super::Inferred;

/// Files read at their start for NDJSON inference, beyond the spread sample
/// (a key that only later files carry is then in the schema).
const FILE_HEADS: usize = 1000;
/// Bytes read from the start of each of those files.
const FILE_HEAD: usize = 32 * 1024;

/// Inference over the spread sample and the start of every file (up to
/// [`FILE_HEADS`]), and the files whose sampled keys or types differ from
/// the union.
pub(super) fn infer_ndjson_files(source: &Source) -> Result<Inferred> {
    let mut parts = sample(source)?;
    if source.files.len() == 1 {
        return infer_ndjson(source, &parts);
    }
    let mut heads: Vec<(usize, Vec<u8>)> = vec![(0, parts[0].clone())];
    for (i, file) in source.files.iter().enumerate().skip(1).take(FILE_HEADS) {
        let (head, complete) = head_bytes(file, FILE_HEAD)?;
        let head = source.spec.encoding.decode(&head).into_owned();
        let end = if complete {
            head.len()
        } else {
            memchr::memrchr(b'\n', &head).map_or(0, |e| e + 1)
        };
        heads.push((i, head[..end].to_vec()));
    }
    parts.extend(heads.iter().map(|(_, h)| h.clone()));
    let mut inferred = infer_ndjson(source, &parts)?;
    let union = inferred
        .read_as
        .clone()
        .unwrap_or_else(|| inferred.schema.clone());
    for (file, head) in heads {
        let Ok(own) = polars::io::ndjson::infer_schema(&mut Cursor::new(&head), None) else {
            continue;
        };
        let differs = own.iter().any(|(n, dt)| union.get(n.as_str()) != Some(dt))
            || union.iter_names().any(|n| !own.contains(n.as_str()));
        if differs && !head.is_empty() {
            inferred.drift.push(FileDrift {
                file,
                own,
                read_as: None,
            });
        }
    }
    Ok(inferred)
}

fn infer_ndjson(source: &Source, parts: &[Vec<u8>]) -> Result<Inferred> {
    let buf = join_samples(parts);
    let not_ndjson = |e: PolarsError| explain_not_ndjson(source, parts, e);
    let schema =
        polars::io::ndjson::infer_schema(&mut Cursor::new(&buf), None).map_err(not_ndjson)?;
    let has_text = schema.iter_values().any(|dt| *dt == DataType::String);
    let mut inferred = Inferred::plain(schema.clone());
    if !has_text {
        return Ok(inferred);
    }
    // The whole sample read as inferred: the text rules see every value
    // the sample holds, so no spots are left to check.
    let frame =
        polars::io::ndjson::core::parse_ndjson(&buf, None, &schema, false).map_err(not_ndjson)?;
    read_iso_dates(source, &mut inferred, &frame, &[]);
    // `--null` replaces the usual spellings (its values are null in text
    // columns too: `parse` masks them as each partition is read).
    let user: Vec<&str> = source.spec.null_values.iter().map(String::as_str).collect();
    if !user.is_empty() {
        read_null_tokens(source, &mut inferred, &frame, &[], &user);
    } else if source.spec.null_tokens {
        read_null_tokens(source, &mut inferred, &frame, &[], &NULL_TOKENS);
    }
    super::date_layouts::offer_date_casts(&mut inferred, &frame);
    if inferred.schema != schema {
        inferred.read_as = Some(schema);
    }
    Ok(inferred)
}

/// The error for a sample polars' inference refused, naming what is wrong
/// and where when the sample shows it: a JSON array instead of lines, the
/// first line of the file's start that is not UTF-8 or not a JSON object
/// (by its number), or such a line sampled further in.
fn explain_not_ndjson(source: &Source, parts: &[Vec<u8>], e: PolarsError) -> QuarryError {
    let file = source
        .files
        .iter()
        .find(|f| f.size > 0)
        .unwrap_or(&source.files[0]);
    let parse = |detail: String| QuarryError::Parse {
        path: file.path.clone(),
        detail,
    };
    let head = parts.first().map(Vec::as_slice).unwrap_or_default();
    if head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return parse(
            "the file is one JSON array, not one JSON object per line (NDJSON).\nFix: write it as NDJSON first, e.g. `jq -c '.[]' FILE > FILE.ndjson`."
                .into(),
        );
    }
    for (part, bytes) in parts.iter().enumerate() {
        let mut offset = 0usize;
        for (index, line) in bytes.split(|&b| b == b'\n').enumerate() {
            let at = offset;
            offset += line.len() + 1;
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let problem = match std::str::from_utf8(line) {
                Err(bad) if part == 0 => {
                    return QuarryError::InvalidUtf8 {
                        path: file.path.clone(),
                        line: index as u64 + 1,
                        offset: (at + bad.valid_up_to()) as u64,
                    }
                }
                Err(_) => "holds bytes that are not UTF-8 (see --encoding)".to_string(),
                Ok(text) => match serde_json::from_str::<serde_json::Value>(text) {
                    Ok(serde_json::Value::Object(_)) => continue,
                    Ok(_) => "is JSON but not an object".to_string(),
                    Err(err) => {
                        // The line was parsed alone: its "line 1" is noise.
                        let text = err.to_string();
                        let what = text.split(" at line ").next().unwrap_or(&text);
                        format!("is not valid JSON ({what} at column {})", err.column())
                    }
                },
            };
            let excerpt: String = String::from_utf8_lossy(line).chars().take(120).collect();
            let which = if part == 0 {
                format!("line {}", index + 1)
            } else {
                "a line sampled further into the data".to_string()
            };
            return parse(format!(
                "{which} {problem}: `{excerpt}`\nFix or remove the line, or read every line as text with --input-format text."
            ));
        }
    }
    parse(format!("not valid NDJSON (one JSON object per line): {e}"))
}
