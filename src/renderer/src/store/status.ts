import { create } from 'zustand';
import type { AccessReport, DoctorReport } from '../../../shared/channels/app';
import type { EventMap } from '../../../shared/events';
import type { ErrorData } from '../../../shared/errors';

export type EngineState = EventMap['engine.state']['state'];

interface StatusState {
  doctor: DoctorReport | null;
  doctorError: ErrorData | null;
  engine: EngineState;
  engineMessage?: string;
  /** Where request paths may point (browser studio: the workspace and the granted folders). */
  access: AccessReport | null;
  setAccess(a: AccessReport): void;
  setDoctor(d: DoctorReport): void;
  setDoctorError(e: ErrorData): void;
  setEngine(s: EventMap['engine.state']): void;
}

export const useStatus = create<StatusState>((set) => ({
  doctor: null,
  doctorError: null,
  engine: 'starting',
  access: null,
  setAccess: (access) => set({ access }),
  setDoctor: (doctor) => set({ doctor, doctorError: null, engine: 'ready' }),
  setDoctorError: (doctorError) => set({ doctorError }),
  setEngine: (s) => set({ engine: s.state, engineMessage: s.message }),
}));
