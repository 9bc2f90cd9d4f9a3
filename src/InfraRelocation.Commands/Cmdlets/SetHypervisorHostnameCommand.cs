using System.Management.Automation;
using InfraRelocation.Commands.Base;
using InfraRelocation.Commands.Completers;
using InfraRelocation.Core.Estate;
using InfraRelocation.Core.Proxmox;
using InfraRelocation.Core.Remote;
using InfraRelocation.Core.Ssh;
using InfraRelocation.Receipts;
using InfraRelocation.Remote;

namespace InfraRelocation.Commands.Cmdlets;

/// <summary>
/// Set-HypervisorHostname: renames a standalone Proxmox node the documented way (hosts, hostname, node directory,
/// certificate; docs/design/hypervisor-rename.md) after proving over SSH that its machine-id is the one the placement
/// policy pins (capability infra.hypervisor.hostname.set). Refuses a cluster member or a node with guests. -WhatIf
/// still probes and surveys (read-only).
/// </summary>
[Cmdlet(VerbsCommon.Set, "HypervisorHostname", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(HostnameChangeReceipt))]
public sealed class SetHypervisorHostnameCommand : RemoteCmdlet
{
    /// <summary>The hypervisor's host id (a placement-policy host of kind proxmox with an ssh.targets entry).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(HostIdCompleter))]
    public string HostId { get; set; } = "";

    /// <summary>The hostname to set; defaults to the host id.</summary>
    [Parameter(Position = 1)]
    [ValidateNotNullOrEmpty]
    public string? NewName { get; set; }

    protected override void ProcessRecord()
    {
        var estate = LoadEstate();
        var name = NewName ?? HostId;
        Run(() => HypervisorRename.ValidateNodeName(name));
        var run = BeginRun("infra.hypervisor.hostname.set", RunMode.Execute);
        run.RecordInputs(estate.InputDigests);
        if (estate.Policy?.Hosts.GetValueOrDefault(HostId) is not { IsProxmox: true } host)
        {
            Fail("HypervisorNotInPolicy", FailureKind.ObjectNotFound,
                $"'{HostId}' is not a host of kind proxmox in the placement policy.", HostId);
            return;
        }
        if (HostChangeRefusal(estate, $"setting the hostname of {HostId}") is { } refusal)
        {
            if (!Core.Governance.MutationGuard.IsUnreadableEstate(refusal))
            {
                EmitReceipt(run, new HostnameChangeReceipt
                {
                    HostId = HostId, NewName = name, PinnedMachineId = host.MachineId, Outcome = ReceiptOutcome.Blocked, Findings = refusal.Findings,
                    Summary = $"{HostId}: refused by the gates ({refusal.Findings.Count} error(s)); nothing sent",
                });
            }
            Fail(refusal);
            return;
        }
        var endpoint = Run(() => new SshEndpointResolver(estate.SshTargets, estate.Layout.Root, SshOptions()).Resolve(HostId));
        var receipt = new HostnameChangeReceipt { HostId = HostId, NewName = name, PinnedMachineId = host.MachineId };

        var probe = PumpTask($"Probe {HostId}", (_, ct) => new HypervisorProbe(Pool).AssertIdentityAsync(endpoint, host.MachineId, ct));
        if (probe.Exception?.InnerException is RelocationException rex)
        {
            run.Mode = RunMode.Preview;
            EmitReceipt(run, receipt with
            {
                Outcome = ReceiptOutcome.Blocked,
                Findings = [RelocationFinding.Error(rex.ErrorId == "HypervisorMachineIdMismatch" ? "IDENTITY.MachineIdMismatch" : "IDENTITY.ProbeFailed", rex.Message, host.LocationOf("machine_id"), estate.Policy.File, HostId)],
                Summary = $"{HostId}: refused: {rex.Message}",
            });
            Fail(rex);
            return;
        }
        var probed = Run(() => probe.GetAwaiter().GetResult());
        var oldName = probed.Hostname;
        receipt = receipt with { PreviousName = oldName, MachineId = probed.MachineId };
        if (host.MachineId is null)
            WriteWarning($"{HostId} has no pinned machine_id in the placement policy: the host's identity could not be asserted (it reports {probed.MachineId ?? "no machine-id"}).");

        // Read-only survey first: a cluster member, guests or a missing node directory stop it here, nothing changed.
        var survey = HypervisorRename.ParseSurvey(Pump($"Survey {HostId}", (_, ct) =>
            Pool.RunAsync(endpoint, HypervisorRename.SurveyCommand(oldName, name), cancellationToken: ct)).EnsureSuccess().Stdout);
        if (HypervisorRename.Refusal(HostId, oldName, name, survey) is { } refused)
        {
            run.Mode = RunMode.Preview;
            EmitReceipt(run, receipt with
            {
                Outcome = ReceiptOutcome.Blocked,
                Findings = [RelocationFinding.Error("IDENTITY.RenameRefused", refused.Message, null, null, HostId)],
                Summary = $"{HostId}: refused: {refused.Message}",
            });
            // Not terminating: the receipt above is the record, and the next piped host is still tried.
            WriteRelocationError(refused);
            return;
        }
        var plan = Run(() => HypervisorRename.Plan(oldName, name, survey));
        var steps = plan.Select(p => p.Step).ToList();
        var preview = BootstrapExecutor.Preview(HostId, steps);
        // The node certificate before the rename: the estate's pins of it follow the rename. pvecm (where installed)
        // issues a new one, whose fingerprint is read after the rename; without pvecm the certificate only moves.
        var oldPem = Pump($"Read {HostId}'s node certificate", (_, ct) => Pool.RunAsync(endpoint, HypervisorRename.NodeCertificateCommand(oldName), cancellationToken: ct));
        var before = HypervisorRenameEstate.FingerprintOfPem(oldPem.Succeeded ? oldPem.Stdout : null);
        var reissues = survey.HasPvecm && oldName != name;
        var (planned, diff) = Run(() => HypervisorRenameEstate.Preview(Layout, new RenamedNode(HostId, preview.Count + 1, name, before, reissues ? null : before), pending: reissues));
        var files = HypervisorRename.FilesOf(plan, preview).Concat(EstateFilesOf(planned)).ToList();

        var action = oldName == name
            ? $"Check that node '{name}' is fully renamed (hosts, hostname, node directory, certificates, the estate's pins)"
            : $"Rename Proxmox node '{oldName}' to '{name}', changing {string.Join("; ", files)}";
        if (planned.Row.State is BootstrapStepState.Planned or BootstrapStepState.Failed)
            action += $"{Environment.NewLine}{planned.Row.Step}: {planned.Row.Evidence}{(diff.Length > 0 ? Environment.NewLine + diff.TrimEnd('\n') : "")}";
        if (!ShouldProcess($"{HostId} ({PreflightRunner.Address(endpoint)}, machine-id {probed.MachineId ?? "unknown"})", action))
        {
            run.Mode = RunMode.Preview;
            EmitReceipt(run, HypervisorRenameEstate.Previewed(receipt, [.. preview, planned.Row], files, diff));
            return;
        }

        // Journaled before anything is sent: the receipt this run leaves if the process dies (issue 16.1).
        var journal = JournalHostChange(run, receipt with
        {
            Summary = $"{HostId}: interrupted while renaming the node from '{oldName}' to '{name}'; its result is unknown. Run Set-HypervisorHostname again: finished steps are checked and skipped.",
        });
        var (rows, pem, after) = Pump($"Rename {HostId}", async (_, ct) =>
        {
            var results = await new BootstrapExecutor(Pool).RunAsync(endpoint, HostId, steps, null, cancellationToken: ct).ConfigureAwait(false);
            var cert = await Pool.RunAsync(endpoint, HypervisorRename.NodeCertificateCommand(name), cancellationToken: ct).ConfigureAwait(false);
            var identity = await new HypervisorProbe(Pool).ReadIdentityAsync(endpoint, ct).ConfigureAwait(false);
            return (results, cert.Succeeded ? cert.Stdout : null, identity);
        });
        var changed = HypervisorRename.FilesOf(plan, rows);
        var newFingerprint = HypervisorRenameEstate.FingerprintOfPem(pem);

        // The receipt's outcome and summary are Core's (HypervisorRenameEstate.Finished). The estate follows only a node
        // that is renamed: its pins, in one transaction with this receipt, written atomically (comments and layout kept),
        // read back, and recorded together, or not at all (docs/design/hypervisor-rename.md).
        HostnameChangeReceipt Finished(IReadOnlyList<BootstrapStepResult> all, IReadOnlyList<WrittenFile> written, string writtenDiff, string? transaction) =>
            HypervisorRenameEstate.Finished(receipt, all, changed, after.NodeName, written, writtenDiff, transaction);
        var recorded = HypervisorRenameEstate.Renamed(rows, after.NodeName, name)
            ? RecordWithPins(run, rows, journal, new RenamedNode(HostId, rows.Count + 1, name, before, newFingerprint), Finished)
            : EmitHostChangeReceipt(run, Finished([.. rows, HypervisorRenameEstate.NotRenamedRow(HostId, rows.Count + 1)], [], "", null), journal);
        foreach (var f in recorded.Steps.Where(r => r.State == BootstrapStepState.Failed))
            WriteRelocationError(new RelocationException("HypervisorRenameStepFailed", FailureKind.InvalidOperation,
                $"{HostId}: rename step {f.Step} failed: {f.Evidence}. Re-run to resume: finished steps are checked and skipped.", target: HostId));
    }

    /// <summary>The estate files a pin plan changes: the configuration, and the manifest whose ledger_anchor the commit moves.</summary>
    private IEnumerable<string> EstateFilesOf(EstatePinPlan pins) => pins.Edits.Count > 0 || pins.Pending
        ? [EstateLayout.ConfigFile, $"{Layout.RelativePath(EstateFile.Manifest).Replace('\\', '/')} (ledger_anchor)"]
        : [];

    /// <summary>
    /// Records the rename with the estate's pins in one transaction (<see cref="HypervisorRenameEstate.Record"/>); when
    /// the pins cannot be written, the row says why and the receipt of the host's part is recorded on its own.
    /// </summary>
    private HostnameChangeReceipt RecordWithPins(Core.Receipts.RunContext run, IReadOnlyList<BootstrapStepResult> rows, string journal, RenamedNode node,
        Func<IReadOnlyList<BootstrapStepResult>, IReadOnlyList<WrittenFile>, string, string?, HostnameChangeReceipt> final)
    {
        var recorded = HypervisorRenameEstate.Record(Layout, Receipts, node,
            (row, written, diff, transaction) => run.Stamp(final([.. rows, row], written, diff, transaction)), journal,
            TimeSpan.FromSeconds(30), DateTimeOffset.UtcNow, CancelToken);
        if (recorded.Receipt is HostnameChangeReceipt receipt)
        {
            WriteObject(receipt);
            return receipt;
        }
        return EmitHostChangeReceipt(run, final([.. rows, recorded.Row], [], "", null), journal);
    }
}
