using System.Globalization;
using InfraRelocation.Core.Estate;
using InfraRelocation.Core.Persistence;
using InfraRelocation.Core.Provisioning;
using InfraRelocation.Core.Proxmox;
using InfraRelocation.Core.Tests.Model;
using InfraRelocation.Core.Tests.Proxmox;
using InfraRelocation.Receipts;
using InfraRelocation.Testing.Proxmox;

namespace InfraRelocation.Core.Tests.Provisioning;

/// <summary>
/// New-ProxmoxVm's engine against the in-process emulator, on a copy of the sample estate whose proxmox settings
/// point at the emulator: nodes pve-fra1-a/pve-fra1-b, template 9002 on pve-fra1-a.
/// </summary>
public sealed class ProvisionExecutorTests : IAsyncLifetime, IDisposable
{
    private const string Manifest = "ops/bindings/infra.relocation.plan.yaml";
    private readonly EmulatorHost _host = new();
    private readonly SampleCopy _estate = new();

    private static readonly ProvisionOptions Fast = new()
    {
        PollInterval = TimeSpan.FromMilliseconds(50),
        LockRetryInitialDelay = TimeSpan.FromMilliseconds(100),
        LockRetryMaxDelay = TimeSpan.FromMilliseconds(400),
        LockTimeout = TimeSpan.FromSeconds(3),
        AgentTimeout = TimeSpan.FromSeconds(20),
        TaskWait = new TaskWaitOptions
        {
            Timeout = TimeSpan.FromSeconds(20), StallTimeout = TimeSpan.FromSeconds(5),
            InitialPollInterval = TimeSpan.FromMilliseconds(50), MaxPollInterval = TimeSpan.FromMilliseconds(200),
            NotYetVisibleGrace = TimeSpan.FromSeconds(5),
        },
        HomeDirectory = "/nonexistent-home",
    };

    public async Task InitializeAsync()
    {
        await _host.InitializeAsync();
        _host.State.AddNode("pve-fra1-a");
        _host.State.AddNode("pve-fra1-b");
        _host.State.AddTemplate(9002, "pve-fra1-a", "tpl-debian12");
        var config = Path.Combine(_estate.Root, EstateLayout.ConfigFile);
        var text = File.ReadAllText(config);
        text = text.Replace("https://pve-fra1-a.int.example.net:8006", _host.Emulator.BaseUri.ToString().TrimEnd('/'))
                   .Replace("https://pve-fra1-b.int.example.net:8006", _host.Emulator.BaseUri.ToString().TrimEnd('/'))
                   .Replace("node: \"pve-fra1-a\" }", $"node: \"pve-fra1-a\", fingerprint: \"{_host.Emulator.CertificateFingerprint}\" }}")
                   .Replace("node: \"pve-fra1-b\" }", $"node: \"pve-fra1-b\", fingerprint: \"{_host.Emulator.CertificateFingerprint}\" }}");
        File.WriteAllText(config, text);
        // the emulator offers local-lvm for images
        TestEstate.Edit(_estate.Root, "ops/bindings/infra.vm.profiles.yaml", t => t.Replace("storage: \"local-zfs\"", "storage: \"local-lvm\""));
    }

    public Task DisposeAsync() => _host.DisposeAsync();

    public void Dispose() => _estate.Dispose();

    private (ProvisionExecutor Executor, ProxmoxSettings Settings) Executor(ProvisionOptions? options = null)
    {
        var layout = EstateLayoutLoader.Load(_estate.Root);
        var estate = EstateLoader.Load(layout);
        var settings = ProxmoxSettings.Load(layout);
        return (new ProvisionExecutor(estate, settings, options ?? Fast), settings);
    }

    // files-core and ci-runner lose their vm_id and share pve-fra1-a, so both draw from that site's range.
    private void TwoTargetsWithoutVmIdOnOneNode() =>
        TestEstate.Edit(_estate.Root, Manifest, t => t
            .Replace("  - vm_id: \"216\"\n    hostname: \"files-core\"", "  - hostname: \"files-core\"")
            .Replace("  - vm_id: \"217\"\n    hostname: \"ci-runner\"", "  - hostname: \"ci-runner\"")
            .Replace("proxmox_host: \"pve-fra1-b\"\n    ci_network_cidr: \"dhcp\"", "proxmox_host: \"pve-fra1-a\"\n    ci_network_cidr: \"dhcp\""));

    private async Task<ProvisionResult> ProvisionAsync(string hostname, ProvisionOptions? options = null)
    {
        var (executor, settings) = Executor(options);
        var prepared = executor.Prepare(hostname, null, forExecute: true);
        using var client = settings.CreateClient(prepared.Host.HostId, new ProxmoxApiToken(_host.Emulator.TokenId, new ProxmoxSecret(_host.Emulator.TokenSecret)));
        return await executor.ExecuteAsync(prepared, client);
    }

    private int Mutating() => _host.State.RequestLog().Count(r => r.Method is "POST" or "PUT" or "DELETE");

    [Fact]
    public async Task Provisions_records_status_and_address_and_a_rerun_changes_nothing()
    {
        var before = File.ReadAllText(Path.Combine(_estate.Root, Manifest));
        var result = await ProvisionAsync("files-core");

        Assert.Null(result.Error);
        Assert.Equal(ReceiptOutcome.Succeeded, result.Outcome);
        Assert.Equal("192.0.2.116", result.Address);
        var vm = _host.State.Vms[216];
        Assert.Equal("files-core", vm.Config["name"]);
        Assert.Equal("running", vm.Status);
        Assert.Equal("4", vm.Config["cores"]);
        Assert.Equal("8192", vm.Config["memory"]);
        Assert.Contains("size=64G", vm.Config["scsi0"]);
        Assert.Equal("ip=192.0.2.116/24,gw=192.0.2.1", vm.Config["ipconfig0"]);
        Assert.Contains("bridge=vmbr0", vm.Config["net0"]);

        var after = File.ReadAllText(Path.Combine(_estate.Root, Manifest));
        Assert.Contains("hostname: \"files-core\"", after);
        var entry = after[after.IndexOf("hostname: \"files-core\"", StringComparison.Ordinal)..];
        entry = entry[..entry.IndexOf("- vm_id", StringComparison.Ordinal)];
        Assert.Contains("status: \"provisioned\"", entry);
        Assert.Contains("address: 192.0.2.116", entry);
        // only that entry changed
        Assert.Equal(before.Split('\n').Length + 1, after.Split('\n').Length);
        Assert.False(File.Exists(Path.Combine(_estate.Root, ProvisionJournal.RelativePathFor("files-core"))));

        _host.State.ClearRequestLog();
        var again = await ProvisionAsync("files-core");
        Assert.Null(again.Error);
        Assert.Equal(ReceiptOutcome.Unchanged, again.Outcome);
        Assert.Equal(0, Mutating());
        Assert.Equal(after, File.ReadAllText(Path.Combine(_estate.Root, Manifest)));
    }

    [Fact]
    public async Task Preview_sends_no_mutating_request_and_lists_the_exact_calls()
    {
        var (executor, settings) = Executor();
        var prepared = executor.Prepare("files-core", null, forExecute: false);
        using var client = settings.CreateClient(prepared.Host.HostId, new ProxmoxApiToken(_host.Emulator.TokenId, new ProxmoxSecret(_host.Emulator.TokenSecret)));
        var plan = await executor.PreviewAsync(prepared, client);

        Assert.Equal(0, Mutating());
        Assert.Equal(["clone", "configure", "resize", "start", "address", "record"], plan.Steps.Select(s => s.Name));
        var clone = plan.Steps[0];
        Assert.Equal("POST", clone.Method);
        Assert.Equal("/nodes/pve-fra1-a/qemu/9002/clone", clone.Path);
        Assert.Equal("216", clone.Parameters["newid"]);
        Assert.Equal("local-lvm", clone.Parameters["storage"]);
        Assert.Equal("64G", plan.Steps[2].Parameters["size"]);
        Assert.DoesNotContain(plan.Describe(), l => l.Contains(_host.Emulator.TokenSecret, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_failing_clone_task_reports_its_log_and_keeps_the_journal_then_a_rerun_continues()
    {
        _host.Emulator.Faults.FailNextTask("qmclone", "storage 'local-lvm' is full");
        var failed = await ProvisionAsync("files-core");
        Assert.Equal(ReceiptOutcome.Failed, failed.Outcome);
        Assert.Equal("ProxmoxTaskFailed", failed.Error!.ErrorId);
        Assert.Contains("storage 'local-lvm' is full", failed.Error.Message);
        Assert.True(File.Exists(Path.Combine(_estate.Root, ProvisionJournal.RelativePathFor("files-core"))));

        var ok = await ProvisionAsync("files-core");
        Assert.Null(ok.Error);
        Assert.Equal(ReceiptOutcome.Succeeded, ok.Outcome);
        Assert.True(ok.Resumed);
    }

    [Fact]
    public async Task A_failure_after_the_clone_resumes_without_cloning_again()
    {
        _host.Emulator.Faults.FailPath("PUT", "/qemu/216/config", 500, "simulated crash after clone", times: 1);
        var failed = await ProvisionAsync("files-core");
        Assert.Equal(ReceiptOutcome.Failed, failed.Outcome);
        Assert.Contains("configure", failed.Error!.Message);
        var journal = ProvisionJournal.Open(_estate.Root, "files-core");
        Assert.True(journal.Existed);
        Assert.True(journal.IsDone("clone"));
        Assert.NotNull(journal.Step("clone")!.Upid);

        var ok = await ProvisionAsync("files-core");
        Assert.Null(ok.Error);
        Assert.Equal(ReceiptOutcome.Succeeded, ok.Outcome);
        Assert.True(ok.Resumed);
        Assert.Equal(1, _host.State.RequestLog().Count(r => r.Method == "POST" && r.Path.EndsWith("/clone", StringComparison.Ordinal)));
        Assert.Equal(ProvisionStepState.Skipped, ok.Steps.Single(s => s.Name == "clone").State);
    }

    [Fact]
    public async Task A_run_stopped_between_clone_and_record_resumes_without_cloning_again_and_a_retried_step_is_journaled_once()
    {
        _host.Emulator.Faults.FailNextTask("resize", "VM is locked (backup)");
        ProvisionResult failed;
        // Another change holds the estate lease: every step on the VM runs, the record step cannot write.
        using (EstateLease.Acquire(_estate.Root, "another change", TimeSpan.Zero))
        {
            failed = await ProvisionAsync("files-core", Fast with { LeaseWait = TimeSpan.Zero });
        }
        Assert.Equal(ReceiptOutcome.Failed, failed.Outcome);
        Assert.Contains("step 'record' failed", failed.Error!.Message);
        Assert.Equal([("clone", ProvisionStepState.Done), ("record", ProvisionStepState.Failed)],
            failed.Steps.Where(s => s.Name is "clone" or "record").Select(s => (s.Name, s.State)));
        // The journal holds each step that changed the VM once, in order, done with its task: the retried resize with
        // the task of the attempt that succeeded.
        var journal = ProvisionJournal.Open(_estate.Root, "files-core");
        Assert.Equal([("clone", "done"), ("configure", "done"), ("resize", "done"), ("start", "done")], journal.Steps.Select(s => (s.Name, s.State)));
        var resizes = failed.Upids.Where(u => Upid.Parse(u).Type == "resize").ToList();
        Assert.Equal(2, resizes.Count);
        Assert.Equal(resizes[^1], journal.Step("resize")!.Upid);
        Assert.DoesNotContain("status: \"provisioned\"", FilesCoreEntry());

        _host.State.ClearRequestLog();
        var ok = await ProvisionAsync("files-core");
        Assert.Null(ok.Error);
        Assert.True(ok.Resumed);
        Assert.Equal(0, Mutating()); // no second clone, nothing sent: only the record is left
        Assert.Equal([("clone", ProvisionStepState.Skipped), ("record", ProvisionStepState.Done)],
            ok.Steps.Where(s => s.Name is "clone" or "record").Select(s => (s.Name, s.State)));
        Assert.Contains("status: \"provisioned\"", FilesCoreEntry());
        Assert.False(File.Exists(Path.Combine(_estate.Root, ProvisionJournal.RelativePathFor("files-core"))));
    }

    private string FilesCoreEntry()
    {
        var text = File.ReadAllText(Path.Combine(_estate.Root, Manifest));
        var entry = text[text.IndexOf("hostname: \"files-core\"", StringComparison.Ordinal)..];
        return entry[..entry.IndexOf("- vm_id", StringComparison.Ordinal)];
    }

    /// <summary>
    /// The journal a run leaves when it dies between POST .../clone and recording the task: clone started, no UPID.
    /// With <paramref name="send"/>, the clone request reached Proxmox (sent here as the dead run sent it).
    /// </summary>
    private async Task<Upid?> InterruptAfterCloneRequestAsync(bool send)
    {
        var journal = ProvisionJournal.Open(_estate.Root, "files-core");
        journal.VmId = 216;
        journal.HypervisorHost = "pve-fra1-a";
        journal.Node = "pve-fra1-a";
        journal.TemplateVmId = 9002;
        journal.Record("clone", "started");
        if (!send) return null;
        using var client = _host.TokenClient();
        return await client.CloneVmAsync("pve-fra1-a", 9002, new CloneRequest(216) { Name = "files-core", Full = true, Storage = "local-lvm" });
    }

    [Fact]
    public async Task A_clone_whose_task_was_never_journaled_is_found_in_the_task_list_and_waited_for_not_its_lock()
    {
        // the clone runs far longer than the lock timeout: waiting for the lock would stop with ResourceBusy
        _host.State.Options.TaskDurations["qmclone"] = TimeSpan.FromSeconds(3);
        var upid = await InterruptAfterCloneRequestAsync(send: true);
        Assert.Equal("clone", _host.State.Vms[216].Config["lock"]);

        var ok = await ProvisionAsync("files-core", Fast with { LockTimeout = TimeSpan.FromMilliseconds(300) });

        Assert.Null(ok.Error);
        Assert.Equal(ReceiptOutcome.Succeeded, ok.Outcome);
        Assert.True(ok.Resumed);
        var clone = ok.Steps.Single(s => s.Name == "clone");
        Assert.Equal(ProvisionStepState.Done, clone.State);
        Assert.Equal(upid!.Text, clone.Upid);
        Assert.Contains(upid.Text, ok.Upids);
        Assert.Single(Posts("/clone"));
        Assert.Contains(_host.State.RequestLog(), r => r.Method == "GET" && r.Path == "/nodes/pve-fra1-a/tasks" &&
            r.Parameters.GetValueOrDefault("typefilter") == "qmclone" && r.Parameters.GetValueOrDefault("vmid") == "9002" && r.Parameters.ContainsKey("since"));
        Assert.False(File.Exists(Path.Combine(_estate.Root, ProvisionJournal.RelativePathFor("files-core"))));
    }

    [Fact]
    public async Task The_preview_of_an_interrupted_clone_says_the_next_run_looks_up_its_task_and_resumes()
    {
        _host.State.Options.TaskDurations["qmclone"] = TimeSpan.FromSeconds(3);
        await InterruptAfterCloneRequestAsync(send: true);
        var requested = ProvisionJournal.Open(_estate.Root, "files-core").Step("clone")!.At;
        var mutatingBefore = Mutating();
        var (executor, settings) = Executor();
        var prepared = executor.Prepare("files-core", null, forExecute: false);
        using var client = settings.CreateClient(prepared.Host.HostId, new ProxmoxApiToken(_host.Emulator.TokenId, new ProxmoxSecret(_host.Emulator.TokenSecret)));

        var plan = await executor.PreviewAsync(prepared, client);

        Assert.Equal(mutatingBefore, Mutating());
        var clone = plan.Steps.Single(s => s.Name == "clone");
        Assert.Equal(ProvisionStepState.Planned, clone.State);
        Assert.Equal(("GET", "/nodes/pve-fra1-a/tasks"), (clone.Method, clone.Path));
        Assert.Equal("qmclone", clone.Parameters["typefilter"]);
        Assert.Equal("9002", clone.Parameters["vmid"]);
        Assert.Equal((requested - InterruptedClone.ClockSkew).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture), clone.Parameters["since"]);
        Assert.Contains($"since {(requested - InterruptedClone.ClockSkew).UtcDateTime:yyyy-MM-dd HH:mm:ss}Z and resumes that clone", clone.Note, StringComparison.Ordinal);
        Assert.DoesNotContain("newid", clone.Parameters.Keys);
        Assert.Contains(clone.Note, plan.Notes);
    }

    [Fact]
    public async Task A_finished_clone_whose_task_was_never_journaled_is_continued_with_that_task()
    {
        var upid = await InterruptAfterCloneRequestAsync(send: true);
        using (var client = _host.TokenClient()) await EmulatorHost.Waiter(client).WaitAsync(upid!);

        var ok = await ProvisionAsync("files-core");

        Assert.Null(ok.Error);
        Assert.Equal(upid!.Text, ok.Steps.Single(s => s.Name == "clone").Upid);
        Assert.Single(Posts("/clone"));
    }

    [Fact]
    public async Task A_clone_request_that_never_arrived_is_sent_again()
    {
        await InterruptAfterCloneRequestAsync(send: false);

        var ok = await ProvisionAsync("files-core");

        Assert.Null(ok.Error);
        Assert.Single(Posts("/clone"));
        Assert.Contains("never reached Proxmox", ok.Steps.Single(s => s.Name == "clone").Note);
    }

    [Fact]
    public async Task A_failed_clone_whose_task_was_never_journaled_is_cloned_again()
    {
        _host.Emulator.Faults.FailNextTask("qmclone", "clone failed: storage 'local-lvm' is full");
        var upid = await InterruptAfterCloneRequestAsync(send: true);
        using (var client = _host.TokenClient())
        {
            await Assert.ThrowsAsync<ProxmoxTaskFailedException>(() => EmulatorHost.Waiter(client).WaitAsync(upid!));
        }
        Assert.False(_host.State.Vms.ContainsKey(216)); // clone_vm removes what it made

        var ok = await ProvisionAsync("files-core");

        Assert.Null(ok.Error);
        Assert.Equal(2, Posts("/clone").Count);
        Assert.Contains("failed", ok.Steps.Single(s => s.Name == "clone").Note);
    }

    [Fact]
    public async Task A_vm_locked_by_a_clone_no_task_is_making_is_refused_naming_the_vm_before_any_change()
    {
        // a clone worker killed with its node leaves the temporary config "lock: clone" and no running task
        _host.State.AddVm(216, "pve-fra1-a", new Dictionary<string, string> { ["lock"] = "clone" });
        await InterruptAfterCloneRequestAsync(send: false);

        var failed = await ProvisionAsync("files-core");

        Assert.Equal(ReceiptOutcome.Failed, failed.Outcome);
        Assert.Equal("ProvisionCloneInterrupted", failed.Error!.ErrorId);
        Assert.Contains("VM 216 is locked by a clone", failed.Error.Message);
        Assert.Contains("qm destroy 216", failed.Error.Message);
        Assert.Equal(0, Mutating());
        Assert.True(File.Exists(Path.Combine(_estate.Root, ProvisionJournal.RelativePathFor("files-core"))));
    }

    [Fact]
    public async Task A_lock_held_for_a_moment_is_retried_and_a_permanent_lock_is_ResourceBusy()
    {
        int ClonePosts() => _host.State.RequestLog().Count(r => r.Method == "POST" && r.Path.EndsWith("/clone", StringComparison.Ordinal));
        _host.State.SetLock(9002, "backup");
        // The lock goes once a clone was refused, not after a fixed delay, and the retries get a wide bound:
        // on a loaded machine a timer could outlast the retries or fire before the first attempt.
        var release = Task.Run(async () =>
        {
            for (var i = 0; i < 3000 && ClonePosts() == 0; i++) await Task.Delay(20);
            _host.State.SetLock(9002, null);
        });
        var ok = await ProvisionAsync("files-core", Fast with { LockRetryAttempts = 100, LockTimeout = TimeSpan.FromSeconds(60) });
        await release;
        Assert.Null(ok.Error);
        Assert.True(ClonePosts() >= 2);

        // a second target on the same template, locked for good
        TestEstate.Edit(_estate.Root, Manifest, t => t.Replace("proxmox_host: \"pve-fra1-b\"\n    ci_network_cidr: \"dhcp\"", "proxmox_host: \"pve-fra1-a\"\n    ci_network_cidr: \"dhcp\""));
        _host.State.SetLock(9002, "backup");
        var busy = await ProvisionAsync("ci-runner", Fast with { LockRetryAttempts = 3 });
        Assert.Equal(ReceiptOutcome.Failed, busy.Outcome);
        Assert.Equal(FailureKind.ResourceBusy, busy.Error!.Kind);
        Assert.Contains("locked", busy.Error.Message);
    }

    [Fact]
    public async Task Targets_without_vm_id_get_distinct_ids_from_the_site_range_in_parallel()
    {
        TwoTargetsWithoutVmIdOnOneNode();
        var results = await Task.WhenAll(ProvisionAsync("files-core"), ProvisionAsync("ci-runner"));
        Assert.All(results, r => Assert.Null(r.Error));
        var ids = results.Select(r => r.Plan.VmId).ToList();
        Assert.Equal(2, ids.Distinct().Count());
        Assert.All(ids, id => Assert.InRange(id!.Value, 200, 209));
        var manifest = File.ReadAllText(Path.Combine(_estate.Root, Manifest));
        foreach (var id in ids) Assert.Contains($"vm_id: '{id}'", manifest);
    }

    [Fact]
    public async Task Previews_of_one_run_show_distinct_free_ids_and_the_next_run_starts_afresh()
    {
        TwoTargetsWithoutVmIdOnOneNode();
        async Task<int?> PreviewIdAsync(ProvisionExecutor executor, ProxmoxSettings settings, string hostname)
        {
            var prepared = executor.Prepare(hostname, null, forExecute: false);
            using var client = settings.CreateClient(prepared.Host.HostId, new ProxmoxApiToken(_host.Emulator.TokenId, new ProxmoxSecret(_host.Emulator.TokenSecret)));
            return (await executor.PreviewAsync(prepared, client)).VmId;
        }

        var (run, settings) = Executor();
        var first = await PreviewIdAsync(run, settings, "files-core");
        var second = await PreviewIdAsync(run, settings, "ci-runner");
        Assert.NotNull(first);
        Assert.NotEqual(first, second);

        // A new run (a new command) has no memory of the last one's previews: nothing is reserved process-wide.
        var (next, nextSettings) = Executor();
        Assert.Equal(first, await PreviewIdAsync(next, nextSettings, "ci-runner"));
        Assert.Equal(0, Mutating());
    }

    [Fact]
    public async Task A_vm_with_the_targets_name_under_another_vmid_is_not_copied()
    {
        _host.State.AddVm(250, "pve-fra1-a", new Dictionary<string, string> { ["name"] = "files-core" }, status: "running");
        var result = await ProvisionAsync("files-core");
        Assert.Equal("ProvisionNameTaken", result.Error!.ErrorId);
        Assert.Contains("250", result.Error.Message);
        Assert.Equal(0, Mutating());
    }

    [Fact]
    public void Two_targets_with_one_vm_id_are_refused_before_any_request()
    {
        TestEstate.Edit(_estate.Root, Manifest, t => t.Replace("  - vm_id: \"217\"\n    hostname: \"ci-runner\"", "  - vm_id: \"216\"\n    hostname: \"ci-runner\""));
        var (executor, _) = Executor();
        var ex = Assert.Throws<RelocationException>(() => executor.Prepare("files-core", null, forExecute: true));
        Assert.Equal("ProvisionVmIdDuplicate", ex.ErrorId);
        Assert.Contains("ci-runner", ex.Message);
        Assert.Empty(_host.State.RequestLog());
    }

    [Fact]
    public void A_placement_violation_is_refused_with_its_findings()
    {
        TestEstate.Edit(_estate.Root, Manifest, t => t.Replace("proxmox_host: \"pve-fra1-a\"\n    ci_network_cidr: \"192.0.2.116/24", "proxmox_host: \"pve-ams1-a\"\n    ci_network_cidr: \"192.0.2.116/24"));
        var (executor, _) = Executor();
        var ex = Assert.Throws<RelocationException>(() => executor.Prepare("files-core", null, forExecute: true));
        Assert.Equal("ProvisionPlacementRefused", ex.ErrorId);
        Assert.Contains(ex.Findings, f => f.RuleId.StartsWith("D37.", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_api_url_may_be_another_node_or_a_vip_and_node_fingerprint_pins_the_node_itself()
    {
        // The emulator serves as pve1; pve-fra1-a has a certificate of its own, as on a real cluster.
        var nodeFingerprint = _host.State.NodeFingerprint("pve-fra1-a");
        Assert.NotEqual(_host.Emulator.CertificateFingerprint, nodeFingerprint);
        var config = Path.Combine(_estate.Root, EstateLayout.ConfigFile);
        var pinned = File.ReadAllText(config);
        var wrong = string.Join(':', Enumerable.Repeat("AB", 32));
        File.WriteAllText(config, pinned.Replace("node: \"pve-fra1-a\", fingerprint:", $"node: \"pve-fra1-a\", node_fingerprint: \"{wrong}\", fingerprint:"));

        var refused = await ProvisionAsync("files-core");
        Assert.Equal("ProvisionNodeIdentityMismatch", refused.Error!.ErrorId);
        Assert.Contains(nodeFingerprint, refused.Error.Message);
        Assert.Equal(0, Mutating());

        File.WriteAllText(config, pinned.Replace("node: \"pve-fra1-a\", fingerprint:", $"node: \"pve-fra1-a\", node_fingerprint: \"{nodeFingerprint}\", fingerprint:"));
        var result = await ProvisionAsync("files-core");
        Assert.Null(result.Error);
        Assert.Equal(ReceiptOutcome.Succeeded, result.Outcome);
        Assert.Equal("pve-fra1-a", _host.State.Vms[216].Node); // files-core's vm_id in the sample plan
    }

    [Fact]
    public async Task A_wrong_pinned_fingerprint_is_refused_before_any_request_is_answered()
    {
        var config = Path.Combine(_estate.Root, EstateLayout.ConfigFile);
        File.WriteAllText(config, File.ReadAllText(config).Replace(_host.Emulator.CertificateFingerprint, string.Join(':', Enumerable.Repeat("AB", 32))));
        var pinned = File.ReadAllBytes(config);
        var result = await ProvisionAsync("files-core");
        Assert.Equal(FailureKind.SecurityError, result.Error!.Kind);
        Assert.Equal("ProxmoxCertificateMismatch", result.Error.ErrorId);
        Assert.Contains(_host.Emulator.CertificateFingerprint, result.Error.Message);
        Assert.Empty(_host.State.RequestLog());
        // checked, not rewritten: the pin stays, and the next run is refused the same way (no trust on first use)
        Assert.Equal(pinned, File.ReadAllBytes(config));
        Assert.Equal("ProxmoxCertificateMismatch", (await ProvisionAsync("files-core")).Error!.ErrorId);
        Assert.Empty(_host.State.RequestLog());
    }

    [Fact]
    public async Task A_node_certificate_renewed_since_it_was_pinned_is_refused_and_the_pin_is_not_rewritten()
    {
        var config = Path.Combine(_estate.Root, EstateLayout.ConfigFile);
        var before = _host.State.NodeFingerprint("pve-fra1-a");
        File.WriteAllText(config, File.ReadAllText(config).Replace("node: \"pve-fra1-a\", fingerprint:", $"node: \"pve-fra1-a\", node_fingerprint: \"{before}\", fingerprint:"));
        Assert.Null((await ProvisionAsync("files-core")).Error);
        var pinned = File.ReadAllBytes(config);
        var manifest = File.ReadAllBytes(Path.Combine(_estate.Root, Manifest));
        var mutating = Mutating();

        _host.State.RenewNodeCertificate("pve-fra1-a"); // e.g. pvecm updatecerts --force on the node
        var renewed = _host.State.NodeFingerprint("pve-fra1-a");
        Assert.NotEqual(before, renewed);

        for (var run = 0; run < 2; run++)
        {
            var refused = await ProvisionAsync("files-core");
            Assert.Equal("ProvisionNodeIdentityMismatch", refused.Error!.ErrorId);
            Assert.Equal(FailureKind.SecurityError, refused.Error.Kind);
            Assert.Contains($"reports certificate {renewed}", refused.Error.Message);
            Assert.Contains($"node_fingerprint pins {before}", refused.Error.Message);
            Assert.Equal(mutating, Mutating());
            Assert.Equal(pinned, File.ReadAllBytes(config));
            Assert.Equal(manifest, File.ReadAllBytes(Path.Combine(_estate.Root, Manifest)));
        }
    }

    [Fact]
    public async Task A_bad_token_is_an_authentication_error_that_names_the_token_but_not_the_secret()
    {
        var (executor, settings) = Executor();
        var prepared = executor.Prepare("files-core", null, forExecute: true);
        const string secret = "0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9";
        using var client = settings.CreateClient(prepared.Host.HostId, new ProxmoxApiToken("automation@pve!relocation", new ProxmoxSecret(secret)));
        var result = await executor.ExecuteAsync(prepared, client);
        Assert.Equal(FailureKind.AuthenticationError, result.Error!.Kind);
        Assert.Contains("automation@pve!relocation", result.Error.Message);
        Assert.DoesNotContain(secret, result.Error.ToString());
        Assert.Equal(0, Mutating());
    }

    private IReadOnlyList<RequestRecord> Posts(string suffix) =>
        _host.State.RequestLog().Where(r => r.Method == "POST" && r.Path.EndsWith(suffix, StringComparison.Ordinal) && r.Status == 200).ToList();

    [Fact]
    public async Task A_template_on_another_nodes_local_storage_is_cloned_there_and_migrated_offline()
    {
        // docker-host-v2's template 9002 is on pve-fra1-a (local-lvm); mon-core goes to pve-fra1-b.
        var result = await ProvisionAsync("mon-core");

        Assert.Null(result.Error);
        Assert.Equal(ReceiptOutcome.Succeeded, result.Outcome);
        var clone = Assert.Single(Posts("/clone"));
        Assert.Equal("/nodes/pve-fra1-a/qemu/9002/clone", clone.Path);
        Assert.False(clone.Parameters.ContainsKey("target"));
        var migrate = Assert.Single(Posts("/migrate"));
        Assert.Equal("/nodes/pve-fra1-a/qemu/213/migrate", migrate.Path);
        Assert.Equal("pve-fra1-b", migrate.Parameters["target"]);
        Assert.Equal("1", migrate.Parameters["with-local-disks"]);
        Assert.Equal("pve-fra1-b", _host.State.Vms[213].Node);
        Assert.Equal("running", _host.State.Vms[213].Status);
        Assert.Equal(["clone", "migrate", "configure", "resize", "start", "address", "record"], result.Steps.Select(s => s.Name));
        Assert.Equal(ProvisionStepState.Done, result.Steps.Single(s => s.Name == "migrate").State);
        // after the migration every call goes to the target node
        Assert.All(_host.State.RequestLog().Where(r => r.Method == "PUT"), r => Assert.StartsWith("/nodes/pve-fra1-b/", r.Path));
    }

    [Fact]
    public async Task A_template_on_shared_storage_is_cloned_straight_to_the_target_node()
    {
        _host.State.AddStorage("ceph-vm", "rbd", "images", shared: true);
        _host.State.AddTemplate(9002, "pve-fra1-a", "tpl-debian12", storage: "ceph-vm");
        TestEstate.Edit(_estate.Root, "ops/bindings/infra.vm.profiles.yaml", t => t.Replace("storage: \"local-lvm\"", "storage: \"ceph-vm\""));

        var (executor, settings) = Executor();
        var prepared = executor.Prepare("mon-core", null, forExecute: false);
        using (var previewClient = settings.CreateClient(prepared.Host.HostId, new ProxmoxApiToken(_host.Emulator.TokenId, new ProxmoxSecret(_host.Emulator.TokenSecret))))
        {
            var plan = await executor.PreviewAsync(prepared, previewClient);
            Assert.Equal("pve-fra1-b", plan.Steps.Single(s => s.Name == "clone").Parameters["target"]);
            Assert.DoesNotContain(plan.Steps, s => s.Name == "migrate");
        }

        var result = await ProvisionAsync("mon-core");
        Assert.Null(result.Error);
        var clone = Assert.Single(Posts("/clone"));
        Assert.Equal("/nodes/pve-fra1-a/qemu/9002/clone", clone.Path);
        Assert.Equal("pve-fra1-b", clone.Parameters["target"]);
        Assert.Empty(Posts("/migrate"));
        Assert.Equal("pve-fra1-b", _host.State.Vms[213].Node);
        Assert.StartsWith("ceph-vm:", _host.State.Vms[213].Config["scsi0"]);
    }

    [Fact]
    public async Task The_emulator_refuses_target_for_a_template_on_local_storage_as_clone_vm_does()
    {
        using var client = _host.TokenClient();
        var e = await Assert.ThrowsAsync<ProxmoxApiException>(() =>
            client.CloneVmAsync("pve-fra1-a", 9002, new CloneRequest(300) { Full = true, Target = "pve-fra1-b" }));
        Assert.Contains("can't clone VM to node 'pve-fra1-b' (VM uses local storage)", e.Message);
        var linked = await Assert.ThrowsAsync<ProxmoxApiException>(() =>
            client.CloneVmAsync("pve-fra1-a", 9002, new CloneRequest(300) { Storage = "local-lvm" }));
        Assert.Contains("parameter 'storage' not allowed for linked clones", linked.Message);
    }

    [Fact]
    public async Task A_crash_between_clone_and_migration_is_resumed_by_migrating_the_stopped_clone()
    {
        _host.Emulator.Faults.FailPath("POST", "/qemu/213/migrate", 500, "simulated crash before the migration", times: 1);
        var failed = await ProvisionAsync("mon-core");
        Assert.Equal(ReceiptOutcome.Failed, failed.Outcome);
        Assert.Equal("pve-fra1-a", _host.State.Vms[213].Node);

        var ok = await ProvisionAsync("mon-core");
        Assert.Null(ok.Error);
        Assert.True(ok.Resumed);
        Assert.Single(Posts("/clone"));
        Assert.Single(Posts("/migrate"));
        Assert.Equal("pve-fra1-b", _host.State.Vms[213].Node);
    }

    [Fact]
    public async Task A_rerun_during_the_resource_list_lag_reads_name_and_template_flag_from_the_config()
    {
        // /cluster/resources shows a fresh clone without its name for a while (pvestatd): the re-run must not call
        // the VMID "already used by VM ''".
        _host.State.Options.ResourceLag = TimeSpan.FromMinutes(5);
        _host.Emulator.Faults.FailPath("PUT", "/qemu/216/config", 500, "simulated failure after the clone", times: 1);
        var failed = await ProvisionAsync("files-core");
        Assert.Equal(ReceiptOutcome.Failed, failed.Outcome);
        using (var client = _host.TokenClient())
        {
            Assert.Equal("", (await client.GetClusterResourcesAsync("vm")).Single(r => r.VmId == 216).Name);
        }

        var ok = await ProvisionAsync("files-core");
        Assert.Null(ok.Error);
        Assert.Single(Posts("/clone"));
    }

    [Fact]
    public async Task A_lock_refusal_inside_the_resize_task_is_retried()
    {
        _host.Emulator.Faults.FailNextTask("resize", "VM is locked (backup)");
        var result = await ProvisionAsync("files-core");
        Assert.Null(result.Error);
        Assert.Equal(2, _host.State.RequestLog().Count(r => r.Method == "PUT" && r.Path.EndsWith("/resize", StringComparison.Ordinal)));
        Assert.Contains("size=64G", _host.State.Vms[216].Config["scsi0"]);
    }

    [Fact]
    public async Task An_ha_managed_vm_is_started_through_hastart_and_waited_for()
    {
        var vm = _host.State.AddTemplate(216, "pve-fra1-a", "files-core");
        vm.Config.Remove("template");
        vm.HaManaged = true;
        var result = await ProvisionAsync("files-core");
        Assert.Null(result.Error);
        Assert.Equal("running", _host.State.Vms[216].Status);
        Assert.Contains(":hastart:216:", result.Steps.Single(s => s.Name == "start").Upid);
        Assert.Contains(_host.State.Tasks, t => t.Type == "qmstart" && t.Id == "216" && t.User == "root@pam");
    }

    [Fact]
    public async Task A_missing_privilege_is_one_clear_error_before_any_change()
    {
        var before = File.ReadAllText(Path.Combine(_estate.Root, Manifest));
        _host.State.Deny("/storage/local-lvm", "Datastore.AllocateSpace");
        _host.State.Deny("/vms/9002", "VM.Audit");

        var result = await ProvisionAsync("files-core");

        Assert.Equal("ProvisionPrivilegeMissing", result.Error!.ErrorId);
        Assert.Equal(FailureKind.PermissionDenied, result.Error.Kind);
        Assert.Contains("VM.Audit on /vms/9002", result.Error.Message);
        Assert.Contains("Datastore.AllocateSpace on /storage/local-lvm", result.Error.Message);
        Assert.DoesNotContain("does not exist", result.Error.Message);
        Assert.Equal(0, Mutating());
        Assert.Equal(before, File.ReadAllText(Path.Combine(_estate.Root, Manifest)));
        Assert.Contains(_host.State.RequestLog(), r => r.Path == "/access/permissions");
    }

    [Fact]
    public async Task The_migrate_route_needs_VM_Migrate_and_says_so_before_cloning()
    {
        _host.State.Deny("/vms/213", "VM.Migrate");
        var result = await ProvisionAsync("mon-core");
        Assert.Equal("ProvisionPrivilegeMissing", result.Error!.ErrorId);
        Assert.Contains("VM.Migrate on /vms/213", result.Error.Message);
        Assert.Equal(0, Mutating());
    }

    [Fact]
    public async Task The_templates_agent_sub_options_are_kept()
    {
        _host.State.Vms[9002].Config["agent"] = "1,fstrim_cloned_disks=1";
        var result = await ProvisionAsync("files-core");
        Assert.Null(result.Error);
        Assert.Equal("1,fstrim_cloned_disks=1", _host.State.Vms[216].Config["agent"]);
        Assert.DoesNotContain(_host.State.RequestLog(), r => r.Method == "PUT" && r.Parameters.ContainsKey("agent"));
    }

    [Fact]
    public async Task A_vmid_taken_by_an_outsider_between_reservation_and_clone_is_replaced_by_the_next_free_one()
    {
        TestEstate.Edit(_estate.Root, Manifest, t => t.Replace("  - vm_id: \"216\"\n    hostname: \"files-core\"", "  - hostname: \"files-core\""));
        var manifest = Path.Combine(_estate.Root, Manifest);
        // The clone request is held up; once the run has reserved 200, Terraform creates a VM with that id.
        _host.Emulator.Faults.SlowPath("/qemu/9002/clone", 3000);
        var outsider = Task.Run(async () =>
        {
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (!File.ReadAllText(manifest).Contains("vm_id: '200'", StringComparison.Ordinal) && DateTime.UtcNow < deadline) await Task.Delay(20);
            _host.State.AddVm(200, "pve-fra1-a", new Dictionary<string, string> { ["name"] = "made-by-terraform" });
        });

        var result = await ProvisionAsync("files-core");
        await outsider;

        Assert.Null(result.Error);
        Assert.Equal(201, result.Plan.VmId);
        // Seen at the existence check or refused by the clone ("config file already exists"), never cloned onto.
        Assert.DoesNotContain(_host.State.RequestLog(), r => r.Path.EndsWith("/clone", StringComparison.Ordinal) && r.Parameters["newid"] == "200" && r.Status == 200);
        Assert.Equal("made-by-terraform", _host.State.Vms[200].Config["name"]);
        Assert.Equal("files-core", _host.State.Vms[201].Config["name"]);
        var text = File.ReadAllText(manifest);
        Assert.Contains("vm_id: '201'", text);
        Assert.DoesNotContain("vm_id: '200'", text);
        Assert.Contains("200 was taken outside the estate", result.Steps.Single(s => s.Name == "reserve-vmid").Note);
    }
}
