//! `smsbridge segment`: how a text would leave on a route, for operators and integrators.

use std::io::Write;

use super::plan::{HexDisplay, Plan, Unit};
use super::profile::{Alphabet, Concatenation, RouteProfile, ShiftLanguage};
use super::{TextError, plan};

/// Arguments of `smsbridge segment`. Without route options it plans for the most common
/// carrier: GSM 03.38 or UCS-2, unpacked GSM7, 8-bit UDH, no shift tables, no smart encoding.
#[derive(Debug, Clone, clap::Args)]
pub struct SegmentArgs {
    /// The text to plan (up to 1000 characters).
    pub text: String,
    /// Alphabet the carrier applies to data_coding 0x00: gsm7, latin1, ia5.
    #[arg(long, default_value = "gsm7")]
    pub alphabet: Alphabet,
    /// Pack GSM7 septets (eight in seven octets).
    #[arg(long)]
    pub packed: bool,
    /// How long messages are tied together: udh8, udh16, sar, payload.
    #[arg(long, default_value = "udh8")]
    pub concatenation: Concatenation,
    /// National language shift tables the route supports: turkish, spanish, portuguese
    /// (comma-separated or repeated).
    #[arg(long = "shift", value_delimiter = ',')]
    pub shift_tables: Vec<ShiftLanguage>,
    /// Replace typographic look-alikes by GSM characters when that avoids UCS-2.
    #[arg(long)]
    pub smart_encoding: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

impl SegmentArgs {
    /// The route profile the options describe.
    pub fn profile(&self) -> RouteProfile {
        RouteProfile {
            alphabet: self.alphabet,
            gsm7_packed: self.packed,
            concatenation: self.concatenation,
            shift_tables: self.shift_tables.clone(),
            smart_encoding: self.smart_encoding,
        }
    }
}

/// Runs `smsbridge segment`: plans the text and prints the plan to `out`.
pub fn run_segment(args: &SegmentArgs, out: &mut impl Write) -> Result<(), TextError> {
    let plan = plan(&args.text, &args.profile())?;
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &plan).map_err(std::io::Error::from)?;
        writeln!(out)?;
    } else {
        write_text(&plan, out)?;
    }
    Ok(())
}

fn unit_name(unit: Unit) -> &'static str {
    match unit {
        Unit::Septet => "septets",
        Unit::Octet => "octets",
        Unit::Utf16 => "UTF-16 units",
    }
}

fn write_text(plan: &Plan, out: &mut impl Write) -> std::io::Result<()> {
    let unit = unit_name(plan.unit);
    write!(
        out,
        "encoding: {} (data_coding 0x{:02x})",
        plan.encoding, plan.data_coding
    )?;
    for (kind, lang) in [
        ("locking shift", plan.locking_shift),
        ("single shift", plan.single_shift),
    ] {
        if let Some(lang) = lang {
            write!(out, ", {kind} {lang}")?;
        }
    }
    writeln!(out)?;
    writeln!(out, "characters: {}", plan.characters)?;
    writeln!(
        out,
        "segments: {} ({}, {} {unit} each)",
        plan.segments, plan.concatenation, plan.units_per_segment
    )?;
    writeln!(
        out,
        "last segment: {} {unit} used, {} left",
        plan.units_used, plan.units_remaining
    )?;
    for r in &plan.replacements {
        writeln!(
            out,
            "smart encoding: {:?} -> {:?} ({}x)",
            r.original, r.replacement, r.count
        )?;
    }
    for part in &plan.parts {
        writeln!(
            out,
            "part {}: {} {unit}, esm_class 0x{:02x}",
            part.seqnum,
            part.units,
            part.esm_class()
        )?;
        writeln!(out, "  text: {:?}", part.text)?;
        if let Some(sar) = part.sar {
            writeln!(
                out,
                "  sar: ref {} total {} seqnum {}",
                sar.reference, sar.total, sar.seqnum
            )?;
        }
        match &part.message_payload {
            Some(payload) => writeln!(out, "  message_payload: {}", HexDisplay(payload))?,
            None => writeln!(out, "  short_message: {}", HexDisplay(&part.short_message))?,
        }
    }
    Ok(())
}
