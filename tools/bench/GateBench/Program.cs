using System.Diagnostics;
using System.Globalization;
using InfraRelocation.Core.Estate;
using InfraRelocation.Core.Gates;
using InfraRelocation.SyntheticEstate;

// Usage: GateBench [--sizes 100,1000,10000,50000] [--vm-ratio 5] [--runs 5] [--broken 0] [--keep DIR]
// Prints one tab-separated line per size: services vms bytes parse_ms gates_ms total_ms errors cpu_ms
// (cpu_ms = process CPU time of parse + gates: a load-independent figure on a shared machine).
var sizes = new[] { 100, 1000, 10000, 50000 };
var vmRatio = 5;
var runs = 5;
var broken = 0;
string? keep = null;
var parsers = false;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--sizes": sizes = args[++i].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray(); break;
        case "--vm-ratio": vmRatio = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--runs": runs = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--broken": broken = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--keep": keep = args[++i]; break;
        case "--parsers": parsers = true; break;
        default: Console.Error.WriteLine($"unknown argument {args[i]}"); return 2;
    }
}

// The floor is a cold parse: turn the loader's per-process file cache off.
EstateLoader.UseCache = false;
Console.WriteLine("services\tvms\tbytes\tparse_ms\tgates_ms\ttotal_ms\terrors\tcpu_ms");
foreach (var n in sizes)
{
    var m = Math.Max(1, n / vmRatio);
    var root = keep is null ? Path.Combine(Path.GetTempPath(), $"gatebench-{n}-{Environment.ProcessId}") : Path.Combine(keep, n.ToString(CultureInfo.InvariantCulture));
    if (Directory.Exists(root)) Directory.Delete(root, true);
    SyntheticEstateGenerator.Write(root, new SyntheticEstateOptions { Services = n, Vms = m, Inconsistencies = broken });
    var bytes = Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
    var layout = EstateLayoutLoader.Load(root);

    // Warm-up (JIT, file cache).
    GateRunner.Run(EstateLoader.Load(layout, null, long.MaxValue));

    var parse = new List<double>();
    var gates = new List<double>();
    var total = new List<double>();
    var cpu = new List<double>();
    var process = Process.GetCurrentProcess();
    var errors = 0;
    for (var r = 0; r < runs; r++)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        process.Refresh();
        var cpuStart = process.TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        var estate = EstateLoader.Load(layout, null, long.MaxValue);
        var parsed = sw.Elapsed.TotalMilliseconds;
        var results = GateRunner.Run(estate);
        var all = sw.Elapsed.TotalMilliseconds;
        parse.Add(parsed);
        gates.Add(all - parsed);
        total.Add(all);
        process.Refresh();
        cpu.Add((process.TotalProcessorTime - cpuStart).TotalMilliseconds);
        errors = results.Sum(x => x.ErrorCount);
    }
    static double Median(List<double> xs) { var s = xs.Order().ToList(); return s[s.Count / 2]; }
    if (parsers)
    {
        // The parser floor: the same YAML files as YamlDotNet events only, then into the located tree.
        var texts = Directory.EnumerateFiles(root, "*.yaml", SearchOption.AllDirectories).Select(File.ReadAllText).ToArray();
        // Wall and CPU time (the process's, user + system), medians of the runs: on a loaded machine only CPU time compares.
        (double Wall, double Cpu) Time(Action<string> parse)
        {
            foreach (var t in texts) parse(t);
            var walls = new List<double>();
            var cpus = new List<double>();
            for (var r = 0; r < runs; r++)
            {
                GC.Collect();
                process.Refresh();
                var cpuStart = process.TotalProcessorTime;
                var sw = Stopwatch.StartNew();
                foreach (var t in texts) parse(t);
                walls.Add(sw.Elapsed.TotalMilliseconds);
                process.Refresh();
                cpus.Add((process.TotalProcessorTime - cpuStart).TotalMilliseconds);
            }
            return (Median(walls), Median(cpus));
        }
        var events = Time(t => { var p = new YamlDotNet.Core.Parser(new StringReader(t)); while (p.MoveNext()) { } });
        var tree = Time(t => InfraRelocation.Core.Yaml.LocatedYamlReader.ParseFull(t, "f"));
        var fast = Time(t => InfraRelocation.Core.Yaml.LocatedYamlReader.Parse(t, "f"));
        Console.Error.WriteLine(FormattableString.Invariant(
            $"parsers {n}: events {events.Wall:F1} ms ({events.Cpu:F0} ms CPU), located tree {tree.Wall:F1} ms ({tree.Cpu:F0} ms CPU), default reader {fast.Wall:F1} ms ({fast.Cpu:F0} ms CPU) (sequential, median of {runs})"));
    }
    Console.WriteLine(string.Join('\t', n, m, bytes, Median(parse).ToString("F1", CultureInfo.InvariantCulture),
        Median(gates).ToString("F1", CultureInfo.InvariantCulture), Median(total).ToString("F1", CultureInfo.InvariantCulture), errors, Median(cpu).ToString("F1", CultureInfo.InvariantCulture)));
    if (keep is null) Directory.Delete(root, true);
}
return 0;
