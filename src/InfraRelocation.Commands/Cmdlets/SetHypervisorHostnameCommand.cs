using System.Management.Automation;
using InfraRelocation.Commands.Base;
using InfraRelocation.Commands.Completers;
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
                Findings = [PreflightRunner.Finding(rex.ErrorId == "HypervisorMachineIdMismatch" ? "IDENTITY.MachineIdMismatch" : "IDENTITY.ProbeFailed", true, rex.Message, host.LocationOf("machine_id"), estate.Policy.File, HostId)],
                Summary = $"{HostId}: refused: {rex.Message}",
            });
            Fail(rex);
            return;
        }
        var before = Run(() => probe.GetAwaiter().GetResult());
        var oldName = before.Hostname;
        receipt = receipt with { PreviousName = oldName, MachineId = before.MachineId };
        if (host.MachineId is null)
            WriteWarning($"{HostId} has no pinned machine_id in the placement policy: the host's identity could not be asserted (it reports {before.MachineId ?? "no machine-id"}).");

        // Read-only survey first: a cluster member, guests or a missing node directory stop it here, nothing changed.
        var survey = HypervisorRename.ParseSurvey(Pump($"Survey {HostId}", (_, ct) =>
            Pool.RunAsync(endpoint, HypervisorRename.SurveyCommand(oldName, name), cancellationToken: ct)).EnsureSuccess().Stdout);
        if (HypervisorRename.Refusal(HostId, oldName, name, survey) is { } refused)
        {
            run.Mode = RunMode.Preview;
            EmitReceipt(run, receipt with
            {
                Outcome = ReceiptOutcome.Blocked,
                Findings = [PreflightRunner.Finding("IDENTITY.RenameRefused", true, refused.Message, null, null, HostId)],
                Summary = $"{HostId}: refused: {refused.Message}",
            });
            // Not terminating: the receipt above is the record, and the next piped host is still tried.
            WriteRelocationError(refused);
            return;
        }
        var plan = Run(() => HypervisorRename.Plan(oldName, name, survey));
        var steps = plan.Select(p => p.Step).ToList();
        var preview = BootstrapExecutor.Preview(HostId, steps);
        var files = HypervisorRename.FilesOf(plan, preview);

        var action = oldName == name
            ? $"Check that node '{name}' is fully renamed (hosts, hostname, node directory, certificates)"
            : $"Rename Proxmox node '{oldName}' to '{name}', changing {string.Join("; ", files)}";
        if (!ShouldProcess($"{HostId} ({PreflightRunner.Address(endpoint)}, machine-id {before.MachineId ?? "unknown"})", action))
        {
            run.Mode = RunMode.Preview;
            EmitReceipt(run, receipt with
            {
                Outcome = ReceiptOutcome.Previewed, Steps = preview, Files = files,
                Summary = oldName == name ? $"{HostId}: would check that node '{name}' is fully renamed; nothing changed"
                    : $"{HostId}: would rename node '{oldName}' to '{name}' ({files.Count} file(s)); nothing changed",
            });
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
        var settings = Run(() => ProxmoxSettings.Load(Layout));
        var all = rows.Append(HypervisorRename.EstatePinRow(HostId, rows.Count + 1, settings.Hosts.GetValueOrDefault(HostId), name, pem)).ToList();
        var failed = all.Where(r => r.State == BootstrapStepState.Failed).ToList();
        var changed = HypervisorRename.FilesOf(plan, rows);
        var outcome = failed.Count > 0 || after.NodeName != name ? ReceiptOutcome.Failed : changed.Count > 0 ? ReceiptOutcome.Succeeded : ReceiptOutcome.Unchanged;
        EmitHostChangeReceipt(run, receipt with
        {
            ReportedName = after.NodeName, Steps = all, Files = changed, Outcome = outcome,
            Method = all.Any(r => r.Step.StartsWith("hostname:", StringComparison.Ordinal) && r.State == BootstrapStepState.Done) ? "pve-rename" : "none",
            Findings = failed.Select(f => PreflightRunner.Finding("IDENTITY.RenameStepFailed", true, $"{HostId}: {f.Step}: {f.Evidence}", null, null, HostId)).ToList(),
            Summary = outcome switch
            {
                ReceiptOutcome.Succeeded => $"{HostId}: node '{oldName}' renamed to '{after.NodeName}'; {changed.Count} file(s) changed",
                ReceiptOutcome.Unchanged => $"{HostId}: node already named '{name}'; nothing changed",
                _ => $"{HostId}: rename to '{name}' incomplete ({failed.Count} step(s) failed; the host reports '{after.NodeName}'); re-run to resume",
            },
        }, journal);
        foreach (var f in failed)
            WriteRelocationError(new RelocationException("HypervisorRenameStepFailed", FailureKind.InvalidOperation,
                $"{HostId}: rename step {f.Step} failed: {f.Evidence}. Re-run to resume: finished steps are checked and skipped.", target: HostId));
    }
}
