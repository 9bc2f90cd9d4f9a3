using InfraRelocation.Core.Estate;
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
                   .Replace("node: \"pve-fra1-a\" }", $"node: \"pve-fra1-a\", fingerprint: \"{_host.Emulator.CertificateFingerprint}\" }}");
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
    public async Task A_lock_held_for_a_moment_is_retried_and_a_permanent_lock_is_ResourceBusy()
    {
        _host.State.SetLock(9002, "backup");
        var release = Task.Run(async () => { await Task.Delay(600); _host.State.SetLock(9002, null); });
        var ok = await ProvisionAsync("files-core");
        await release;
        Assert.Null(ok.Error);
        Assert.True(_host.State.RequestLog().Count(r => r.Method == "POST" && r.Path.EndsWith("/clone", StringComparison.Ordinal)) >= 2);

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
        TestEstate.Edit(_estate.Root, Manifest, t => t
            .Replace("  - vm_id: \"216\"\n    hostname: \"files-core\"", "  - hostname: \"files-core\"")
            .Replace("  - vm_id: \"217\"\n    hostname: \"ci-runner\"", "  - hostname: \"ci-runner\"")
            .Replace("proxmox_host: \"pve-fra1-b\"\n    ci_network_cidr: \"dhcp\"", "proxmox_host: \"pve-fra1-a\"\n    ci_network_cidr: \"dhcp\""));
        var results = await Task.WhenAll(ProvisionAsync("files-core"), ProvisionAsync("ci-runner"));
        Assert.All(results, r => Assert.Null(r.Error));
        var ids = results.Select(r => r.Plan.VmId).ToList();
        Assert.Equal(2, ids.Distinct().Count());
        Assert.All(ids, id => Assert.InRange(id!.Value, 200, 209));
        var manifest = File.ReadAllText(Path.Combine(_estate.Root, Manifest));
        foreach (var id in ids) Assert.Contains($"vm_id: '{id}'", manifest);
    }

    [Fact]
    public async Task A_wrong_pinned_fingerprint_is_refused_before_any_request_is_answered()
    {
        var config = Path.Combine(_estate.Root, EstateLayout.ConfigFile);
        File.WriteAllText(config, File.ReadAllText(config).Replace(_host.Emulator.CertificateFingerprint, string.Join(':', Enumerable.Repeat("AB", 32))));
        var result = await ProvisionAsync("files-core");
        Assert.Equal(FailureKind.SecurityError, result.Error!.Kind);
        Assert.Equal("ProxmoxCertificateMismatch", result.Error.ErrorId);
        Assert.Empty(_host.State.RequestLog());
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
}
