using InfraRelocation.Testing.Proxmox;

// Process mode: dotnet InfraRelocation.ProxmoxEmulator.dll [--port 0] [--state seed.json] [--schema pve-api-subset.json] [--no-stdin]
// Prints one JSON line (url, fingerprint, tokenId, secret, user, password, node), then serves until stdin
// closes (or, with --no-stdin, until killed).
var options = new EmulatorOptions();
var watchStdin = true;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--port": options.Port = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
        case "--state": options.StatePath = args[++i]; break;
        case "--schema": options.SchemaPath = args[++i]; break;
        case "--task-ms": options.DefaultTaskDuration = TimeSpan.FromMilliseconds(int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture)); break;
        case "--no-stdin": watchStdin = false; break;
        default:
            Console.Error.WriteLine($"unknown argument '{args[i]}'");
            return 2;
    }
}

await using var emulator = new ProxmoxEmulator(options);
await emulator.StartAsync();
Console.Out.WriteLine(emulator.DescribeJson());
Console.Out.Flush();

var stop = new TaskCompletionSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.TrySetResult(); };
AppDomain.CurrentDomain.ProcessExit += (_, _) => stop.TrySetResult();
if (watchStdin)
{
    _ = Task.Run(() =>
    {
        while (Console.In.ReadLine() is not null) { }
        stop.TrySetResult();
    });
}
await stop.Task;
await emulator.StopAsync();
return 0;
