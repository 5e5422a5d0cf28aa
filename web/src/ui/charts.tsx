/** Burndown, velocity, and cycle and lead time, drawn by Chart.js (only the parts used are registered, to keep the
 * bundle small). Animation is off: the chart is there at once, and a screenshot shows it. */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
  type ChartConfiguration,
} from "chart.js";
import { useEffect, useRef } from "preact/hooks";

Chart.register(LineController, LineElement, PointElement, BarController, BarElement, CategoryScale, LinearScale, Tooltip, Legend);

const ACCENT = "#4f46e5";
const MUTED = "#9ca3af";
const DONE = "#10b981";

function ChartCanvas({ config, label }: { config: ChartConfiguration; label: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const chart = new Chart(canvas.current!, config);
    return () => chart.destroy();
  }, [JSON.stringify(config.data)]);
  return (
    <div class="chart">
      <canvas ref={canvas} role="img" aria-label={label} />
    </div>
  );
}

const common = {
  animation: false as const,
  responsive: true,
  maintainAspectRatio: false,
  plugins: { legend: { position: "bottom" as const } },
};

export function BurndownChart({ days, committed }: { days: { date: string; remaining_points: number }[]; committed: number }) {
  const ideal = days.map((_, i) => (days.length > 1 ? committed - (committed * i) / (days.length - 1) : committed));
  return (
    <ChartCanvas
      label="Burndown chart"
      config={{
        type: "line",
        data: {
          labels: days.map((d) => d.date.slice(5)),
          datasets: [
            { label: "Remaining points", data: days.map((d) => d.remaining_points), borderColor: ACCENT, backgroundColor: ACCENT, tension: 0 },
            { label: "Ideal", data: ideal, borderColor: MUTED, borderDash: [6, 4], pointRadius: 0 },
          ],
        },
        options: { ...common, scales: { y: { beginAtZero: true, title: { display: true, text: "points" } } } },
      }}
    />
  );
}

export function VelocityChart({ sprints }: { sprints: { name: string; committed: number; velocity: number }[] }) {
  return (
    <ChartCanvas
      label="Velocity chart"
      config={{
        type: "bar",
        data: {
          labels: sprints.map((s) => s.name),
          datasets: [
            { label: "Committed", data: sprints.map((s) => s.committed), backgroundColor: MUTED },
            { label: "Done (velocity)", data: sprints.map((s) => s.velocity), backgroundColor: DONE },
          ],
        },
        options: { ...common, scales: { y: { beginAtZero: true, title: { display: true, text: "points" } } } },
      }}
    />
  );
}

export function FlowChart({ lead, cycle, unit }: { lead: number[]; cycle: number[]; unit: string }) {
  return (
    <ChartCanvas
      label="Cycle and lead time chart"
      config={{
        type: "bar",
        data: {
          labels: ["p50", "p85", "p95"],
          datasets: [
            { label: "Lead time", data: lead, backgroundColor: MUTED },
            { label: "Cycle time", data: cycle, backgroundColor: ACCENT },
          ],
        },
        options: { ...common, scales: { y: { beginAtZero: true, title: { display: true, text: unit } } } },
      }}
    />
  );
}
