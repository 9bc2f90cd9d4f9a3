using System.Runtime.InteropServices;
using InfraRelocation.Testing.Proxmox;

// Process mode: dotnet InfraRelocation.ProxmoxEmulator.dll [--port 0] [--state seed.json] [--task-ms 300] [--no-stdin]
// Prints one JSON line (url, fingerprint, tokenId, secret, user, password, node), then serves until stdin
// closes, SIGTERM or SIGINT (with --no-stdin, only the signals).
var options = new EmulatorOptions();
var watchStdin = true;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--port": options.Port = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
        case "--state": options.StatePath = args[++i]; break;
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

// SIGTERM and SIGINT end the wait; cancelling the default action lets the server stop cleanly (the runtime's
// default SIGTERM handling waits in ProcessExit for a main that is itself waiting: the old hang with --no-stdin).
var stop = new TaskCompletionSource();
void OnSignal(PosixSignalContext context) { context.Cancel = true; stop.TrySetResult(); }
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
emulator.Stopping.Register(() => stop.TrySetResult());
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
