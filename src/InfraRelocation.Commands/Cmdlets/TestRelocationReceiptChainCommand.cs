using InfraRelocation.Core.Receipts;

namespace InfraRelocation.Commands.Cmdlets;

/// <summary>
/// Test-RelocationReceiptChain: verifies the receipt ledger's hash chain and reports the first broken
/// link (an edited, removed or reordered receipt) with its line number, a torn tail (an interrupted write) with its
/// byte offset, or a chain that no longer reaches the head the manifest anchors (<c>ledger_anchor</c>: a truncated or
/// rewritten ledger) with the anchor's location. Reading evidence is not a run: it writes nothing, and the receipt it
/// returns is not appended.
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "RelocationReceiptChain")]
[OutputType(typeof(ReceiptChainReceipt))]
public sealed class TestRelocationReceiptChainCommand : EstateCmdlet
{
    protected override void EndProcessing()
    {
        var run = BeginRun("infra.relocation.receipts.verify", RunMode.Read);
        var store = Receipts;
        var manifest = ReadManifest();
        var result = Run(() => store.Verify(manifest?.LedgerAnchor));
        var relative = Path.GetRelativePath(Layout.Root, store.LedgerPath).Replace('\\', '/');
        var location = result.Break == ReceiptChainBreak.Anchor && manifest?.LocationOf(LedgerAnchor.ManifestKey) is { } anchorAt
            ? anchorAt
            : new SourceLocation(relative, result.BrokenAtLine ?? 1, 1);
        var signatures = Run(() => store.Signatures(Layout.Config?.Signers ?? []));
        var signed = signatures.Where(x => x.Status != ReceiptSignatureStatus.Unsigned).ToList();
        var badSignatures = signed.Where(x => x.Status is ReceiptSignatureStatus.Invalid or ReceiptSignatureStatus.UnknownKey)
            .Select(x => RelocationFinding.Of(x.Status == ReceiptSignatureStatus.Invalid ? FindingSeverity.Error : FindingSeverity.Warning,
                x.Status == ReceiptSignatureStatus.Invalid ? "RECEIPT.SignatureInvalid" : "RECEIPT.SignatureUnknownKey",
                $"The {x.Capability} receipt on line {x.Line} (run {x.RunId}) is {ReceiptSigner.Describe(x.Status)} ({x.Fingerprint}).",
                new SourceLocation(relative, x.Line, 1), subject: relative, actual: x.Fingerprint)).ToList();
        if (badSignatures.Any(f => f.Severity == FindingSeverity.Error) && result.IsValid)
        {
            result = result with { IsValid = false, Message = $"{badSignatures.Count(f => f.Severity == FindingSeverity.Error)} signed receipt(s) no longer match their signature; the first is on line {badSignatures[0].Location!.Line}." };
        }
        foreach (var f in badSignatures)
        {
            WriteWarning($"{f.Location}: {f.Message}");
        }
        IReadOnlyList<RelocationFinding> findings = result.Break is null ? [.. badSignatures, .. NotAnchored(result, signatures, relative)] :
        [
            .. badSignatures,
            RelocationFinding.Error("RECEIPT.Chain" + result.Break, result.Message, location, subject: relative,
                actual: result.BrokenAtOffset is { } offset ? $"byte {offset}" : null),
        ];
        if (result.Break is not null)
        {
            WriteWarning($"{location.File}:{location.Line}:{location.Column}{(result.BrokenAtOffset is { } at ? $" (byte {at})" : "")}: {result.Message}");
        }
        else if (manifest is { LedgerAnchor: null })
        {
            WriteVerbose($"{manifest.File} has no {LedgerAnchor.ManifestKey} yet (no change since anchoring began): the chain was checked on its own.");
        }
        WriteObject(run.Stamp(new ReceiptChainReceipt
        {
            Outcome = result.IsValid ? ReceiptOutcome.Passed : ReceiptOutcome.Failed,
            Summary = result.Message + (result.Anchored ? " It reaches the head the manifest anchors." : ""),
            Findings = findings,
            LedgerPath = relative,
            IsValid = result.IsValid,
            ReceiptCount = result.ReceiptCount,
            BrokenAtLine = result.BrokenAtLine,
            BrokenAtOffset = result.BrokenAtOffset,
            Break = result.Break?.ToString(),
            Anchor = manifest?.LedgerAnchor,
            Anchored = result.Anchored,
            Signatures = signed.Select(x => new ReceiptSignatureInfo
            {
                Line = x.Line, Capability = x.Capability, RunId = x.RunId, Outcome = x.Outcome, Status = x.Status.ToString(),
                Signer = x.Signer, Fingerprint = x.Fingerprint,
            }).ToList(),
            UnsignedCount = signatures.Count - signed.Count,
            UnanchoredCount = result.Break is null ? result.UnanchoredCount : 0,
        }));
    }

    /// <summary>
    /// The receipts the manifest's anchor does not seal (an Information finding, not a break): hashes need no secret, so a
    /// correctly linked receipt appended after the last change cannot be told from a real one until the next change anchors
    /// it, unless a key receipts.signers lists signed it (guards then count only those).
    /// </summary>
    private IEnumerable<RelocationFinding> NotAnchored(ReceiptChainResult result, IReadOnlyList<ReceiptSignature> signatures, string relative)
    {
        if (result.UnanchoredCount == 0 || signatures.Count < result.UnanchoredCount)
        {
            yield break;
        }
        var newer = signatures.Skip(signatures.Count - result.UnanchoredCount).ToList();
        var listed = (Layout.Config?.Signers ?? []).Count > 0;
        var unsigned = newer.Count(x => x.Status != ReceiptSignatureStatus.Valid);
        var since = result.Anchored ? $"after the head the manifest's {LedgerAnchor.ManifestKey} seals (the last change's receipt and every one since)"
            : $"in all: the manifest has no {LedgerAnchor.ManifestKey} yet (no change since anchoring began)";
        var names = string.Join("; ", newer.Take(8).Select(x => $"line {x.Line} {x.Capability} {x.Outcome} run {x.RunId}{(x.Status == ReceiptSignatureStatus.Valid ? $" signed by {x.Signer}" : "")}"));
        yield return RelocationFinding.Of(FindingSeverity.Information, "RECEIPT.NotAnchored",
            $"{newer.Count} receipt(s) are not anchored, {since}: {names}{(newer.Count > 8 ? "; …" : "")}. Until the next change anchors them, the chain alone vouches for them, " +
            "and a correctly linked receipt appended by hand cannot be told from a real one. " +
            (listed ? $"Guards count only those a key receipts.signers lists signed ({newer.Count - unsigned} of them)."
                    : $"{EstateLayout.ConfigFile} lists no receipts.signers, so guards count them as evidence: review them, or list signers."),
            new SourceLocation(relative, newer[0].Line, 1), subject: relative, actual: $"{newer.Count} unanchored");
    }

    // The anchor lives in the manifest; a manifest that cannot be read leaves the chain checked on its own (with a warning).
    private Model.RelocationManifest? ReadManifest()
    {
        try
        {
            return EstateLoader.Load(Layout, [EstateFile.Manifest]).Manifest;
        }
        catch (RelocationException ex)
        {
            WriteWarning($"The manifest cannot be read ({ex.ErrorId}), so the ledger was not checked against its {LedgerAnchor.ManifestKey}: {ex.Message}");
            return null;
        }
    }
}
