namespace InfraRelocation.Commands.Cmdlets;

/// <summary>
/// Test-RelocationManifest: validates the estate's files (all, or the kinds given by -File) and writes
/// each problem as a located RelocationFinding, then a receipt (to the pipeline only: reading changes nothing, the
/// ledger included). -Strict turns error findings into a terminating error (RelocationValidationFailed) for scripts.
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "RelocationManifest")]
[OutputType(typeof(RelocationFinding), typeof(ManifestValidationReceipt))]
public sealed class TestRelocationManifestCommand : EstateCmdlet
{
    /// <summary>Which files to validate; all when omitted. Cross-file references are checked among the files given.</summary>
    [Parameter(Position = 0)]
    [ValidateSet(nameof(EstateFile.Manifest), nameof(EstateFile.PlacementPolicy), nameof(EstateFile.VmProfiles),
        nameof(EstateFile.SshTargets), nameof(EstateFile.BackupInventory), nameof(EstateFile.HealthBindings),
        nameof(EstateFile.ServiceRegistry), nameof(EstateFile.StackRegistry), nameof(EstateFile.DeviceIdentity),
        nameof(EstateFile.NamingPolicy), nameof(EstateFile.ExceptionRegister))]
    public string[]? File { get; set; }

    /// <summary>Throw a terminating error when any finding is an error.</summary>
    [Parameter]
    public SwitchParameter Strict { get; set; }

    protected override void EndProcessing()
    {
        var run = BeginRun("infra.relocation.manifest.validate", RunMode.Read);
        var only = File?.Select(Enum.Parse<EstateFile>).ToHashSet();
        var estate = TryLoadEstate(only, writeFinding: false, out var unreadable);
        if (estate is null)
        {
            // Reported like any other finding: the file that cannot be read, where, and a failed receipt.
            WriteObject(unreadable);
            EmitUnrecorded(run, new ManifestValidationReceipt
            {
                Outcome = ReceiptOutcome.Failed,
                Summary = $"{unreadable!.Location?.File ?? "A file"} cannot be read: 1 error(s).",
                Findings = [unreadable],
                IsValid = false,
            });
            return;
        }
        run.RecordInputs(estate.InputDigests);
        var findings = estate.ValidationFindings;
        foreach (var finding in findings)
        {
            WriteObject(finding);
        }
        var errors = findings.Count(f => f.Severity == FindingSeverity.Error);
        var warnings = findings.Count(f => f.Severity == FindingSeverity.Warning);
        var files = (only ?? Enum.GetValues<EstateFile>().ToHashSet())
            .Select(Layout.RelativePath).Where(p => estate.InputDigests.ContainsKey(p)).ToList();
        WriteObject(run.Stamp(new ManifestValidationReceipt
        {
            Outcome = errors > 0 ? ReceiptOutcome.Failed : ReceiptOutcome.Passed,
            Summary = $"Validated {files.Count} file(s): {errors} error(s), {warnings} warning(s).",
            Findings = findings,
            Files = files,
            ChangeId = estate.Manifest?.ActiveRelocation?.ChangeId,
            State = estate.Manifest?.ActiveRelocation?.StateText,
            IsValid = errors == 0,
        }));
        if (Strict && errors > 0)
        {
            var list = string.Join(Environment.NewLine, findings.Where(f => f.Severity == FindingSeverity.Error).Select(f => "  " + f));
            Fail(new RelocationException("RelocationValidationFailed", FailureKind.InvalidData,
                $"The estate at '{Layout.Root}' has {errors} schema error(s):{Environment.NewLine}{list}", target: Layout.Root)
            {
                Findings = findings,
            });
        }
    }
}
